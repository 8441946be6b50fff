package httpapi

import (
	"net/http"

	"github.com/refx-dev/refx/pkg/refx"
)

// eraseUser erases a user (DELETE /v1/users/{user}): their personal items
// leave the table, the counts stay, and the export is told to drop their
// rows. The answer lists what was erased; sending it again answers zeros
// (or whatever the user wrote since).
func (s *Server) eraseUser(w http.ResponseWriter, r *http.Request) error {
	user := refx.NormalizeUser(r.PathValue("user"))
	if !refx.ValidUser(user) {
		return refx.InvalidUser("user")
	}
	e, err := s.Privacy.EraseUser(r.Context(), user)
	if err != nil {
		return err
	}
	logger(r.Context()).InfoContext(r.Context(), "user erased", "user_hash", e.UserHash,
		"assignments", e.Assignments, "events", e.Events, "codes", e.Codes)
	writeJSON(w, http.StatusOK, e)
	return nil
}
