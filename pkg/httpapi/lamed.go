package httpapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/refx-dev/refx/pkg/refx"
)

// DefaultLamedPrefix is where the Alephbet/Lamed-compatible routes live
// unless configured otherwise.
const DefaultLamedPrefix = "/lamed"

// mountLamed serves the Lamed routes under the configured prefix as well:
// the routes are registered under DefaultLamedPrefix, and a request under
// another prefix is routed as if it came there.
func (s *Server) mountLamed(next http.Handler) http.Handler {
	prefix := strings.TrimRight(s.LamedPrefix, "/")
	if prefix == "" || prefix == DefaultLamedPrefix {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rest, ok := strings.CutPrefix(r.URL.Path, prefix+"/"); ok {
			r2 := r.Clone(r.Context())
			r2.URL.Path, r2.URL.RawPath = DefaultLamedPrefix+"/"+rest, ""
			r = r2
		}
		next.ServeHTTP(w, r)
	})
}

// lamedTrack answers Alephbet's tracking GET as Lamed does: exactly 200 for
// a counted or repeated event (Alephbet drops an event from its queue only
// on 200), any origin, never cached. It is a CORS simple request, so no
// preflight is involved.
func (s *Server) lamedTrack(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Pragma", "no-cache")
	q := r.URL.Query()
	t := refx.LamedTrack{
		Namespace: lamedNamespace(q), Experiment: q.Get("experiment"),
		Variant: q.Get("variant"), Event: q.Get("event"), UUID: q.Get("uuid"),
	}
	t.Normalize()
	if err := t.Validate(); err != nil {
		return err
	}
	if err := s.Lamed.LamedTrack(r.Context(), t); err != nil {
		return err
	}
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// lamedQuery reads a second '?' in the query as '&'. Alephbet appends its
// parameters to the tracking URL with "?", so a URL configured with the
// client key ("…/lamed/track?key=rfx_pub_…") arrives as
// "?key=…?namespace=…"; Alephbet escapes '?' in values, so a bare one is
// only ever that separator.
func lamedQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.RawQuery, "?") {
			r2 := r.Clone(r.Context())
			r2.URL.RawQuery = strings.ReplaceAll(r.URL.RawQuery, "?", "&")
			r = r2
		}
		next.ServeHTTP(w, r)
	})
}

// lamedNamespace is the namespace parameter, refx.DefaultLamedNamespace
// when absent, as Lamed defaults it. Names are looked up in NFC, the form
// tracking stores them in (refx.LamedTrack.Normalize).
func lamedNamespace(q url.Values) string {
	if ns := q.Get("namespace"); ns != "" {
		return refx.NormalizeUser(ns)
	}
	return refx.DefaultLamedNamespace
}

// requireLamedKey lets a request through only with an admin credential (the
// bootstrap key or an admin key of the role the route registered as
// pattern needs, see adminRoles) in Lamed's x-api-key header; Lamed's API
// Gateway answered a wrong key with 403, and so does any refusal here.
func (s *Server) requireLamedKey(isAdminKey func(string) bool, pattern string, next apiFunc) http.Handler {
	need := roleFor(pattern)
	return apiFunc(func(w http.ResponseWriter, r *http.Request) error {
		actor, err := s.adminActor(r.Context(), r.Header.Get("x-api-key"), isAdminKey)
		switch code := refx.ErrorCode(err); {
		case code != "" && code != refx.EUNAUTHORIZED:
			return err // the store is unreachable: 503, not a refusal
		case code != "" || !actor.Role.Allows(need):
			writeJSON(w, http.StatusForbidden, map[string]string{"message": "Forbidden"})
			return nil
		}
		return next(w, r.WithContext(refx.WithActor(r.Context(), actor)))
	})
}

// lamedExperiments answers Lamed's results listing:
// [{"meta":{"scope":…}}, {"experiment":…,"goals":[{"goal":…,"results":[{"label","successes","trials"}]}]}].
// A namespace too large for one answer comes in pages: the meta object of
// all but the last holds a next_cursor, which the cursor parameter takes;
// Lamed's clients, which know nothing of it, read the first page as before.
func (s *Server) lamedExperiments(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	lq := refx.LamedQuery{Namespace: lamedNamespace(q), Cursor: q.Get("cursor")}
	meta := map[string]any{"scope": nil}
	if raw := q.Get("scope"); raw != "" {
		meta["scope"] = raw
		for name := range strings.SplitSeq(raw, ",") {
			if name != "" {
				lq.Scope = append(lq.Scope, refx.NormalizeUser(name))
			}
		}
	}
	page, err := s.Lamed.LamedExperiments(r.Context(), lq)
	if err != nil {
		return err
	}
	if page.NextCursor != "" {
		meta["next_cursor"] = page.NextCursor
	}
	out := []any{map[string]any{"meta": meta}}
	for _, e := range page.Experiments {
		out = append(out, e)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) lamedDelete(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	namespace, experiment := lamedNamespace(q), refx.NormalizeUser(q.Get("experiment"))
	if experiment == "" {
		return refx.FieldErrorf("experiment", "is required")
	}
	if err := s.Lamed.LamedDelete(r.Context(), namespace, experiment); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"deleted": experiment, "namespace": namespace})
	return nil
}
