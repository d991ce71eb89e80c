// SPDX-License-Identifier: GPL-2.0

#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/irq.h>
#include <linux/irqdomain.h>
#include <linux/of_irq.h>

/*
 * The MSI helpers serve the doorbell allocator alone, built with
 * CONFIG_PCI_ENDPOINT_MSI_DOORBELL; irq_domain_is_msi_immutable() needs
 * CONFIG_IRQ_DOMAIN_HIERARCHY, which the allocator's GENERIC_MSI_IRQ selects.
 */
#ifdef CONFIG_PCI_ENDPOINT_MSI_DOORBELL
__rust_helper bool rust_helper_irq_domain_is_msi_parent(struct irq_domain *domain)
{
	return irq_domain_is_msi_parent(domain);
}

__rust_helper bool
rust_helper_irq_domain_is_msi_immutable(struct irq_domain *domain)
{
	return irq_domain_is_msi_immutable(domain);
}

__rust_helper void rust_helper_dev_set_msi_domain(struct device *dev,
						  struct irq_domain *d)
{
	dev_set_msi_domain(dev, d);
}

__rust_helper struct msi_desc *rust_helper_irq_get_msi_desc(unsigned int irq)
{
	return irq_get_msi_desc(irq);
}

#ifndef CONFIG_OF_IRQ
__rust_helper struct irq_domain *
rust_helper_of_msi_map_get_device_domain(struct device *dev, u32 id,
					 u32 bus_token)
{
	return of_msi_map_get_device_domain(dev, id, bus_token);
}
#endif
#endif /* CONFIG_PCI_ENDPOINT_MSI_DOORBELL */

__rust_helper int rust_helper_dma_mapping_error(struct device *dev,
						dma_addr_t dma_addr)
{
	return dma_mapping_error(dev, dma_addr);
}

/*
 * memcpy_fromio() and memcpy_toio() are macros on some architectures; these
 * names do not collide with the bindings of the functions where they are not.
 */
__rust_helper void rust_helper_rust_memcpy_fromio(void *to,
						  const void __iomem *from,
						  size_t count)
{
	memcpy_fromio(to, from, count);
}

__rust_helper void rust_helper_rust_memcpy_toio(void __iomem *to,
						const void *from, size_t count)
{
	memcpy_toio(to, from, count);
}
