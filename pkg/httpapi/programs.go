package httpapi

import (
	"net/http"

	"github.com/refx-dev/refx/pkg/refx"
)

// The admin routes of referral programs. A program's current offer changes
// by its experiments' conclusions (the experiment routes), not here.

// programs is the program store: the experiment store itself, since a
// conclusion sets its program's offer in the experiment's own transaction.
func (s *Server) programs() (refx.ProgramService, error) {
	return storeAs[refx.ProgramService](s, "programs")
}

// programRequest returns the program store and the program the request's
// path names.
func (s *Server) programRequest(r *http.Request) (refx.ProgramService, string, error) {
	return storeAndID(r, s.programs, refx.ValidSlug, func(string) error { return refx.FieldErrorf("id", "must be a program id") })
}

func (s *Server) createProgram(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.programs()
	if err != nil {
		return err
	}
	var req refx.NewProgram
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	p, err := req.Build(s.now())
	if err != nil {
		return err
	}
	if err := ps.CreateProgram(r.Context(), p); err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/programs/"+p.ID)
	writeJSON(w, http.StatusCreated, p)
	return nil
}

func (s *Server) listPrograms(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.programs()
	if err != nil {
		return err
	}
	return writePage(w, r, ps.Programs)
}

func (s *Server) getProgram(w http.ResponseWriter, r *http.Request) error {
	ps, id, err := s.programRequest(r)
	if err != nil {
		return err
	}
	p, err := ps.Program(r.Context(), id)
	return answer(w, http.StatusOK, p, err)
}

func (s *Server) updateProgram(w http.ResponseWriter, r *http.Request) error {
	ps, id, err := s.programRequest(r)
	if err != nil {
		return err
	}
	var patch refx.ProgramPatch
	if err := decodeJSON(w, r, &patch); err != nil {
		return err
	}
	if err := versionRead(patch.Version); err != nil {
		return err
	}
	p, err := ps.UpdateProgram(r.Context(), id, patch)
	return answer(w, http.StatusOK, p, err)
}

func (s *Server) programResults(w http.ResponseWriter, r *http.Request) error {
	ps, id, err := s.programRequest(r)
	if err != nil {
		return err
	}
	res, err := ps.ProgramResults(r.Context(), id)
	return answer(w, http.StatusOK, res, err)
}
