"""{{name}}: an ipfilter-plugin, allowing or refusing client addresses.
Returning allows; raising componentize_py_types.Err(reason) refuses.
"""

from componentize_py_types import Err

from wit_world import exports


class Ipfilter(exports.Ipfilter):
    def check_ip(self, ip: str, protocol: str) -> None:
        if ip.startswith("192.0.2."):
            raise Err(f"{ip} is refused")

    def reload(self) -> None:
        pass
