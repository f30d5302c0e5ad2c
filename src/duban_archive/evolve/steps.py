"""The evolve steps themselves.  Never edit a released step; add a new one."""

from __future__ import annotations

from . import step


@step(1, "remap_acls")
def remap_acls(site, registry) -> str:
    """Recompute every item's ACL from its workflow's current permission maps."""
    count = 0
    for item in site.item_index.values():
        registry.duban_workflows[item.workflow].apply_acl(item)
        count += 1
    return f"重算 {count} 个事项的权限"
