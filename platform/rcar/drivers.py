#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Does this kernel have a driver for everything the PCIe endpoint needs?

Usage: drivers.py WORKTREE BUILDDIR DTB...

For each DTB: start at the enabled PCIe endpoint node(s) (compatible
"renesas,rcar-gen4-pcie-ep") and the console (/chosen stdout-path), and
follow every reference a device's probe depends on: clocks, resets, power
domains, PHYs, MSI parents, interrupt parents, pin control states and
GPIOs, recursively, together with the parent buses of every node reached.
DMA channels and IOMMUs are optional (the drivers here work without them):
they are listed, but a missing driver there does not fail the check.  A node is served when one of its compatible strings
is in an OF match table (of_device_id, *_OF_DECLARE, IRQCHIP_DECLARE) of a
C file whose object is linked into vmlinux (the members of vmlinux.a).
Prints one line per node; exits 1 if a node is disabled or not served.
"""

import os
import re
import struct
import subprocess
import sys

FDT_BEGIN_NODE, FDT_END_NODE, FDT_PROP, FDT_NOP, FDT_END = 1, 2, 3, 4, 9


class Node:
    def __init__(self, name, parent):
        self.name, self.parent, self.props, self.children = name, parent, {}, []

    def path(self):
        if self.parent is None:
            return "/"
        p = self.parent.path()
        return (p if p != "/" else "") + "/" + self.name

    def cells(self, prop):
        v = self.props.get(prop)
        return list(struct.unpack(">%dI" % (len(v) // 4), v)) if v else []

    def strings(self, prop):
        v = self.props.get(prop, b"")
        return [s.decode() for s in v.split(b"\0") if s]

    def enabled(self):
        return self.strings("status")[:1] in ([], ["okay"], ["ok"])


def parse_fdt(blob):
    magic, _, off_struct, off_strings = struct.unpack(">4I", blob[:16])
    if magic != 0xD00DFEED:
        raise ValueError("not a flattened device tree")
    pos, root, cur = off_struct, None, None
    while True:
        (tok,) = struct.unpack(">I", blob[pos:pos + 4])
        pos += 4
        if tok == FDT_BEGIN_NODE:
            end = blob.index(b"\0", pos)
            node = Node(blob[pos:end].decode(), cur)
            if cur is None:
                root = node
            else:
                cur.children.append(node)
            cur = node
            pos = (end + 4) & ~3
        elif tok == FDT_END_NODE:
            cur = cur.parent
        elif tok == FDT_PROP:
            size, nameoff = struct.unpack(">II", blob[pos:pos + 8])
            pos += 8
            name_end = blob.index(b"\0", off_strings + nameoff)
            cur.props[blob[off_strings + nameoff:name_end].decode()] = blob[pos:pos + size]
            pos = (pos + size + 3) & ~3
        elif tok == FDT_NOP:
            continue
        elif tok == FDT_END:
            return root
        else:
            raise ValueError("bad FDT token %d" % tok)


def all_nodes(n):
    yield n
    for c in n.children:
        yield from all_nodes(c)


# Properties whose providers a device can do without.
OPTIONAL = {"dmas", "iommus"}

# property -> the provider's #cells property (None: a plain phandle list)
PHANDLE_PROPS = {
    "clocks": "#clock-cells",
    "resets": "#reset-cells",
    "power-domains": "#power-domain-cells",
    "phys": "#phy-cells",
    "dmas": "#dma-cells",
    "iommus": "#iommu-cells",
    "msi-parent": "#msi-cells",
    "interrupts-extended": "#interrupt-cells",
    "mboxes": "#mbox-cells",
}


def references(node, by_phandle):
    """(property, provider) pairs the node depends on."""
    refs = []

    def walk(prop, cells_name):
        v = node.cells(prop)
        i = 0
        while i < len(v):
            prov = by_phandle.get(v[i])
            if prov is None:
                raise ValueError("%s: %s refers to unknown phandle %#x" % (node.path(), prop, v[i]))
            refs.append((prop, prov))
            i += 1 + (prov.cells(cells_name)[0] if cells_name and prov.cells(cells_name) else 0)

    for prop, cells_name in PHANDLE_PROPS.items():
        walk(prop, cells_name)
    for prop in node.props:
        if prop == "gpios" or prop.endswith("-gpios") or prop.endswith("-gpio"):
            walk(prop, "#gpio-cells")
        elif re.fullmatch(r"pinctrl-\d+", prop):
            walk(prop, None)
    if "interrupts" in node.props:
        n = node
        while n is not None and "interrupt-parent" not in n.props:
            n = n.parent
        if n is not None:
            refs.append(("interrupt-parent", by_phandle[n.cells("interrupt-parent")[0]]))
    if "msi-map" in node.props:
        v = node.cells("msi-map")
        for i in range(0, len(v), 4):
            refs.append(("msi-map", by_phandle[v[i + 1]]))
    return refs


def device_of(node):
    """The node that a driver binds: the node, or its nearest ancestor with
    a compatible (pin configuration and similar subnodes)."""
    while node is not None and "compatible" not in node.props:
        node = node.parent
    return node


def linked_sources(work, out):
    ar = subprocess.run(["llvm-ar", "t", os.path.join(out, "vmlinux.a")],
                        check=True, capture_output=True, text=True).stdout.split()
    srcs = []
    for o in ar:
        # Members of the thin archive are named relative to BUILDDIR (or absolute).
        c = os.path.join(work, os.path.relpath(os.path.join(out, o), out)[:-2] + ".c")
        if os.path.isfile(c):
            srcs.append(c)
    return srcs


MATCH = re.compile(r'\.compatible\s*=\s*"([^"]+)"|_DECLARE\(\s*\w+\s*,\s*"([^"]+)"')


def builtin_compatibles(srcs):
    table = {}
    for c in srcs:
        with open(c, errors="replace") as f:
            for m in MATCH.finditer(f.read()):
                table.setdefault(m.group(1) or m.group(2), c)
    return table


def check(dtb, table, work):
    with open(dtb, "rb") as f:
        root = parse_fdt(f.read())
    nodes = list(all_nodes(root))
    by_phandle = {n.cells("phandle")[0]: n for n in nodes if "phandle" in n.props}
    starts = [(n, "endpoint") for n in nodes
              if "renesas,rcar-gen4-pcie-ep" in n.strings("compatible") and n.enabled()]
    if not starts:
        print("not ok %s: no enabled renesas,rcar-gen4-pcie-ep node" % dtb)
        return False
    chosen = next((n for n in nodes if n.path() == "/chosen"), None)
    if chosen is not None and chosen.strings("stdout-path"):
        target = chosen.strings("stdout-path")[0].split(":")[0]
        if not target.startswith("/"):
            aliases = next((n for n in nodes if n.path() == "/aliases"), None)
            target = aliases.strings(target)[0] if aliases and aliases.strings(target) else target
        starts += [(n, "console") for n in nodes if n.path() == target]
    seen, todo, optional, good, required = {}, list(starts), [], True, 0
    while todo:
        node, why = todo.pop(0)
        dev = device_of(node)
        if dev is None or dev.path() in seen:
            continue
        seen[dev.path()] = why
        required += 1
        for prop, prov in references(dev, by_phandle):
            (optional if prop in OPTIONAL else todo).append((prov, "%s of %s" % (prop, dev.path())))
        if dev.parent is not None and dev.parent.parent is not None:
            todo.append((dev.parent, "parent bus of %s" % dev.path()))
        compats = dev.strings("compatible")
        hit = next((c for c in compats if c in table), None)
        if not dev.enabled():
            print("    not ok %s (%s): disabled; needed as %s" % (dev.path(), ", ".join(compats), why))
            good = False
        elif hit is None:
            print("    not ok %s (%s): no driver built in; needed as %s" % (dev.path(), ", ".join(compats), why))
            good = False
        else:
            print("    ok %s: %s (%s)" % (dev.path(), hit, os.path.relpath(table[hit], work)))
    for node, why in optional:
        dev = device_of(node)
        if dev is None or dev.path() in seen:
            continue
        seen[dev.path()] = why
        compats = dev.strings("compatible")
        hit = next((c for c in compats if c in table), None)
        print("    # optional %s (%s, %s): %s" % (dev.path(), ", ".join(compats), why,
              "driver %s" % os.path.relpath(table[hit], work) if hit else "no driver built in"))
    print("%s %s: %d required devices served, %d optional listed" %
          ("ok" if good else "not ok", os.path.basename(dtb), required, len(seen) - required))
    return good


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    work, out, dtbs = sys.argv[1], sys.argv[2], sys.argv[3:]
    table = builtin_compatibles(linked_sources(work, out))
    results = [check(d, table, work) for d in dtbs]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
