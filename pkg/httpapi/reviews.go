package httpapi

import (
	"context"
	"net/http"

	"github.com/refx-dev/refx/pkg/refx"
)

// The admin routes of fraud review: the queue of flagged attributions and
// the decisions on them, and blocks of codes and referrers (editor; reads
// viewer). Every decision and block change is audited by the store.

// reviewRoutes registers the review and block routes through admin.
func (s *Server) reviewRoutes(admin func(pattern string, h apiFunc)) {
	admin("GET /v1/reviews", s.listReviews)
	admin("POST /v1/reviews/{referee}/approve", s.decide(refx.DecisionApprove))
	admin("POST /v1/reviews/{referee}/reject", s.decide(refx.DecisionReject))
	admin("POST /v1/blocks", s.createBlock)
	admin("GET /v1/blocks", s.listBlocks)
	admin("DELETE /v1/blocks/{kind}/{id}", s.deleteBlock)
}

// reviews is the review store: the experiment store, which keeps
// attributions and blocks in the same table.
func (s *Server) reviews() (interface {
	refx.ReviewService
	refx.BlockService
}, error) {
	rs, ok := s.Experiments.(interface {
		refx.ReviewService
		refx.BlockService
	})
	if !ok {
		return nil, refx.Errorf(refx.EINTERNAL, "the experiment store keeps no reviews")
	}
	return rs, nil
}

func (s *Server) listReviews(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.reviews()
	if err != nil {
		return err
	}
	experiment := r.URL.Query().Get("experiment")
	if experiment == "" {
		return refx.FieldErrorf("experiment", "is required: the queue is kept per experiment")
	}
	return writePage(w, r, func(ctx context.Context, limit int, cursor string) (*refx.AttributionPage, error) {
		return rs.Reviews(ctx, experiment, limit, cursor)
	})
}

// decide answers a decision on the path's referee. The body is optional:
// {"note": "..."}.
func (s *Server) decide(decision string) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		rs, err := s.reviews()
		if err != nil {
			return err
		}
		var req struct {
			Note string `json:"note"`
		}
		if r.ContentLength != 0 {
			if err := decodeJSON(w, r, &req); err != nil {
				return err
			}
		}
		a, err := rs.Review(r.Context(), refx.NormalizeUser(r.PathValue("referee")), decision, req.Note)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, a)
		return nil
	}
}

func (s *Server) createBlock(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.reviews()
	if err != nil {
		return err
	}
	var req struct {
		Code     string `json:"code"`
		Referrer string `json:"referrer"`
		Reason   string `json:"reason"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	b := &refx.Block{Reason: req.Reason}
	switch {
	case (req.Code == "") == (req.Referrer == ""):
		return refx.FieldErrorf("code", "give either code or referrer")
	case req.Code != "":
		b.Kind, b.ID = refx.BlockCode, req.Code
	default:
		b.Kind, b.ID = refx.BlockReferrer, refx.NormalizeUser(req.Referrer)
	}
	stored, err := rs.CreateBlock(r.Context(), b)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/blocks/"+string(stored.Kind)+"/"+stored.ID)
	writeJSON(w, http.StatusCreated, stored)
	return nil
}

func (s *Server) listBlocks(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.reviews()
	if err != nil {
		return err
	}
	return writePage(w, r, rs.Blocks)
}

func (s *Server) deleteBlock(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.reviews()
	if err != nil {
		return err
	}
	kind := refx.BlockKind(r.PathValue("kind"))
	id := r.PathValue("id")
	switch kind {
	case refx.BlockCode:
	case refx.BlockReferrer:
		id = refx.NormalizeUser(id)
	default:
		return refx.Errorf(refx.ENOTFOUND, "no block kind %q: code or referrer", kind)
	}
	if err := rs.DeleteBlock(r.Context(), kind, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
