"""Introspection XML generated from the method table, so code and XML cannot drift."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from smoothdesk.dbus.names import INTERFACE, METHODS, SIGNALS

_STANDARD = """  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect"><arg name="xml" type="s" direction="out"/></method>
  </interface>
  <interface name="org.freedesktop.DBus.Peer">
    <method name="Ping"/>
  </interface>
"""


def interface_xml() -> str:
    lines = [f"  <interface name={quoteattr(INTERFACE)}>"]
    for m in METHODS:
        lines.append(f"    <method name={quoteattr(m.name)}>")
        lines.append(f"      <!-- {m.doc} -->")
        for direction, args in (("in", m.args), ("out", m.returns)):
            for a in args:
                name, sig = quoteattr(a.name), quoteattr(a.signature)
                lines.append(f'      <arg name={name} type={sig} direction="{direction}"/>')
        lines.append("    </method>")
    for s in SIGNALS:
        lines.append(f"    <signal name={quoteattr(s.name)}>")
        lines.append(f"      <!-- {s.doc} -->")
        for a in s.args:
            lines.append(f"      <arg name={quoteattr(a.name)} type={quoteattr(a.signature)}/>")
        lines.append("    </signal>")
    lines.append("  </interface>")
    return "\n".join(lines) + "\n"


def node_xml() -> str:
    header = (
        '<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"\n'
        ' "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">\n'
    )
    return header + "<node>\n" + _STANDARD + interface_xml() + "</node>\n"


if __name__ == "__main__":
    print(node_xml(), end="")
