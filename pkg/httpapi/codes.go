package httpapi

import (
	"net/http"
	"strconv"

	"github.com/refx-dev/refx/pkg/refx"
)

// issueCode is POST /v1/codes: an admin gives a referrer a vanity code (or
// a random one), optionally ending on expires_at; audited.
func (s *Server) issueCode(w http.ResponseWriter, r *http.Request) error {
	var req refx.CodeRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	req.Normalize()
	if err := req.Validate(s.now()); err != nil {
		return err
	}
	link, err := s.Referrals.IssueCode(r.Context(), req)
	if err != nil {
		return err
	}
	link.URL = s.publicURL(r) + "/r/" + link.Code
	writeJSON(w, http.StatusOK, link)
	return nil
}

// codeStats is GET /v1/referrals/{code}/stats, for the code's referrer:
// authorised by the code's stats token (Authorization: Bearer, or ?token=
// where a header cannot be set) or by a secret key (X-Refx-Key). A client
// key alone opens nothing: it is public in every page.
func (s *Server) codeStats(w http.ResponseWriter, r *http.Request) error {
	code, err := referralCode(r)
	if err != nil {
		return err
	}
	var access refx.StatsAccess
	if key, _ := presentedKey(r); key != "" {
		k, err := s.authenticate(r)
		if err != nil {
			return err
		}
		access.Trusted = k != nil && k.Kind == refx.KeySecret
	}
	if token, ok := bearerToken(r.Header.Get("Authorization")); ok {
		access.Token = token
	} else {
		access.Token = r.URL.Query().Get("token")
	}
	if !access.Trusted && access.Token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="refx-stats"`)
	}
	st, err := s.Referrals.CodeStats(r.Context(), code, access)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, st)
	return nil
}

// leaderboard is GET /v1/experiments/{id}/leaderboard?by=&limit=.
func (s *Server) leaderboard(w http.ResponseWriter, r *http.Request) error {
	id, err := experimentID(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	by := q.Get("by")
	if by == "" {
		by = refx.LeaderBySignups
	}
	limit := 10
	if l := q.Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil {
			return refx.FieldErrorf("limit", "must be a whole number from 1 to %d", refx.MaxLeaderboard)
		}
	}
	board, err := s.Referrals.Leaderboard(r.Context(), id, by, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, board)
	return nil
}
