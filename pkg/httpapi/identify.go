package httpapi

import (
	"net/http"

	"github.com/refx-dev/refx/pkg/refx"
)

// identify links an anonymous visitor's assignments to the user they signed
// up or logged in as (refx.js calls it from refx.identify), so that the user
// keeps the variants they saw. Nothing is counted: see refx.IdentityService.
func (s *Server) identify(w http.ResponseWriter, r *http.Request) error {
	var req refx.Identity
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	req.Normalize()
	if err := req.Validate(); err != nil {
		return err
	}
	res, err := s.Identities.Identify(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
