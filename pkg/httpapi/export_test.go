package httpapi

import "github.com/refx-dev/refx/pkg/refx"

// AdminRoleOf is the role adminRoles declares for a route's pattern, and
// whether it declares one.
func AdminRoleOf(pattern string) (refx.AdminRole, bool) {
	need, ok := adminRoles[pattern]
	return need, ok
}
