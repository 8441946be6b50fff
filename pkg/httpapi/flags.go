package httpapi

import (
	"net/http"

	"github.com/refx-dev/refx/pkg/refx"
)

// The admin routes of flags and segments.

// pathKey reads the {key} of a flag or segment route.
func pathKey(r *http.Request) (string, error) {
	key := r.PathValue("key")
	if !refx.ValidKey(key) {
		return "", refx.FieldErrorf("key", "must be 1-64 characters of letters, digits, '-', '_' or '.'")
	}
	return key, nil
}

func (s *Server) createFlag(w http.ResponseWriter, r *http.Request) error {
	var req refx.NewFlag
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	f, err := req.Build(s.now())
	if err != nil {
		return err
	}
	if err := s.Flags.CreateFlag(r.Context(), f); err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/flags/"+f.Key)
	writeJSON(w, http.StatusCreated, f)
	return nil
}

// importFlags creates or changes the flags of a GrowthBook SDK payload,
// taken as GrowthBook's API serves it, in the environment the query names
// (production by default).
func (s *Server) importFlags(w http.ResponseWriter, r *http.Request) error {
	env := r.URL.Query().Get("environment")
	if env == "" {
		env = refx.EnvProduction
	}
	var p refx.GrowthBookPayload
	if err := decodeBody(http.MaxBytesReader(w, r.Body, refx.MaxImportBytes), &p); err != nil {
		return err
	}
	res, err := s.Flags.ImportFlags(r.Context(), p, env)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) listFlags(w http.ResponseWriter, r *http.Request) error {
	flags, err := s.Flags.Flags(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"flags": flags})
	return nil
}

func (s *Server) getFlag(w http.ResponseWriter, r *http.Request) error {
	key, err := pathKey(r)
	if err != nil {
		return err
	}
	f, err := s.Flags.Flag(r.Context(), key)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, f)
	return nil
}

func (s *Server) updateFlag(w http.ResponseWriter, r *http.Request) error {
	key, err := pathKey(r)
	if err != nil {
		return err
	}
	var p refx.FlagPatch
	if err := decodeJSON(w, r, &p); err != nil {
		return err
	}
	if err := versionRead(p.Version); err != nil {
		return err
	}
	f, err := s.Flags.UpdateFlag(r.Context(), key, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, f)
	return nil
}

func (s *Server) deleteFlag(w http.ResponseWriter, r *http.Request) error {
	key, err := pathKey(r)
	if err != nil {
		return err
	}
	if err := s.Flags.DeleteFlag(r.Context(), key); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) createSegment(w http.ResponseWriter, r *http.Request) error {
	var req refx.NewSegment
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	seg, err := req.Build(s.now())
	if err != nil {
		return err
	}
	if err := s.Flags.CreateSegment(r.Context(), seg); err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/segments/"+seg.Key)
	writeJSON(w, http.StatusCreated, seg)
	return nil
}

func (s *Server) listSegments(w http.ResponseWriter, r *http.Request) error {
	segs, err := s.Flags.Segments(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"segments": segs})
	return nil
}

func (s *Server) getSegment(w http.ResponseWriter, r *http.Request) error {
	key, err := pathKey(r)
	if err != nil {
		return err
	}
	seg, err := s.Flags.Segment(r.Context(), key)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, seg)
	return nil
}

func (s *Server) updateSegment(w http.ResponseWriter, r *http.Request) error {
	key, err := pathKey(r)
	if err != nil {
		return err
	}
	var p refx.SegmentPatch
	if err := decodeJSON(w, r, &p); err != nil {
		return err
	}
	if err := versionRead(p.Version); err != nil {
		return err
	}
	seg, err := s.Flags.UpdateSegment(r.Context(), key, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, seg)
	return nil
}

func (s *Server) deleteSegment(w http.ResponseWriter, r *http.Request) error {
	key, err := pathKey(r)
	if err != nil {
		return err
	}
	if err := s.Flags.DeleteSegment(r.Context(), key); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
