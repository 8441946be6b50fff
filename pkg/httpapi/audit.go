package httpapi

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/refx-dev/refx/pkg/refx"
)

// The experiment log's audit trail: GET /v1/audit. Entries are written by
// the store in the transaction of each change; no route updates or deletes
// them.

// maxAuditIDLen bounds the id of ?resource=kind:id: the longest id an
// entry names is a key's or an erasure's hash, well under it.
const maxAuditIDLen = 256

// auditTrail is the audit store: the experiment store itself, which writes
// the entries in its changes' transactions.
func (s *Server) auditTrail() (refx.AuditService, error) {
	return storeAs[refx.AuditService](s, "audit trail")
}

// audit lists entries newest first: ?resource=<kind> for one kind of
// resource, ?resource=<kind>:<id> for one resource, neither for all;
// ?limit= and ?cursor= page. Filtered by kind, a page may hold fewer
// entries than the limit, even none, with a next cursor: follow it to the
// end.
func (s *Server) audit(w http.ResponseWriter, r *http.Request) error {
	trail, err := s.auditTrail()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f, err := auditFilter(q.Get("resource"))
	if err != nil {
		return err
	}
	if f.Limit, err = limitParam(q); err != nil {
		return err
	}
	f.Cursor = q.Get("cursor")
	page, err := trail.Audit(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// auditFilter parses ?resource=: "", "<kind>" or "<kind>:<id>"; the id may
// hold colons itself (a flag import's "import:<env>").
func auditFilter(resource string) (refx.AuditFilter, error) {
	if resource == "" {
		return refx.AuditFilter{}, nil
	}
	kind, id, hasID := strings.Cut(resource, ":")
	f := refx.AuditFilter{Resource: refx.AuditResource(kind), ResourceID: id}
	switch {
	case !f.Resource.Valid():
		return f, refx.FieldErrorf("resource", "must be one of %v, alone or followed by :<id>", refx.AuditResources)
	case hasID && (id == "" || len(id) > maxAuditIDLen || !utf8.ValidString(id)):
		return f, refx.FieldErrorf("resource", "must name an id of 1-%d bytes after %q", maxAuditIDLen, kind+":")
	}
	return f, nil
}
