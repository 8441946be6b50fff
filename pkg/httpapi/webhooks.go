package httpapi

import (
	"net/http"

	"github.com/refx-dev/refx/pkg/refx"
)

// The admin routes of webhook subscriptions (editor; reads viewer). The
// secret is in the answers of the creation and of a rotation only.

// webhookRoutes registers the subscription routes through admin.
func (s *Server) webhookRoutes(admin func(pattern string, h apiFunc)) {
	admin("POST /v1/webhooks", s.createWebhook)
	admin("GET /v1/webhooks", s.listWebhooks)
	admin("GET /v1/webhooks/{id}", s.getWebhook)
	admin("PATCH /v1/webhooks/{id}", s.updateWebhook)
	admin("DELETE /v1/webhooks/{id}", s.deleteWebhook)
	admin("POST /v1/webhooks/{id}/rotate-secret", s.rotateWebhookSecret)
	admin("GET /v1/webhooks/{id}/deliveries", s.webhookDeliveries)
}

// webhooks is the subscription store: the experiment store, which keeps
// them in the same table.
func (s *Server) webhooks() (refx.WebhookService, error) {
	w, ok := s.Experiments.(refx.WebhookService)
	if !ok {
		return nil, refx.Errorf(refx.EINTERNAL, "the experiment store keeps no webhooks")
	}
	return w, nil
}

// webhookRequest returns the store and the subscription id of the path.
func (s *Server) webhookRequest(r *http.Request) (refx.WebhookService, string, error) {
	ws, err := s.webhooks()
	if err != nil {
		return nil, "", err
	}
	id := r.PathValue("id")
	if !refx.ValidWebhookID(id) {
		return nil, "", refx.Errorf(refx.ENOTFOUND, "webhook %q not found", id)
	}
	return ws, id, nil
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	ws, err := s.webhooks()
	if err != nil {
		return err
	}
	var req refx.NewWebhook
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	hook, err := req.Build(s.now())
	if err != nil {
		return err
	}
	if err := s.WebhookPolicy.CheckTarget(r.Context(), hook.URL); err != nil {
		return err
	}
	if err := ws.CreateWebhook(r.Context(), hook); err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/webhooks/"+hook.ID)
	writeJSON(w, http.StatusCreated, refx.WebhookWithSecret{Webhook: hook, Secret: hook.Secret})
	return nil
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	ws, err := s.webhooks()
	if err != nil {
		return err
	}
	return writePage(w, r, ws.Webhooks)
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) error {
	ws, id, err := s.webhookRequest(r)
	if err != nil {
		return err
	}
	hook, err := ws.Webhook(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, hook)
	return nil
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request) error {
	ws, id, err := s.webhookRequest(r)
	if err != nil {
		return err
	}
	var p refx.WebhookPatch
	if err := decodeJSON(w, r, &p); err != nil {
		return err
	}
	if p.Version < 1 {
		return refx.FieldErrorf("version", "must be the version you read (optimistic locking)")
	}
	if p.URL != nil {
		if err := s.WebhookPolicy.CheckTarget(r.Context(), *p.URL); err != nil {
			return err
		}
	}
	hook, err := ws.UpdateWebhook(r.Context(), id, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, hook)
	return nil
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	ws, id, err := s.webhookRequest(r)
	if err != nil {
		return err
	}
	if err := ws.DeleteWebhook(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) rotateWebhookSecret(w http.ResponseWriter, r *http.Request) error {
	ws, id, err := s.webhookRequest(r)
	if err != nil {
		return err
	}
	hook, err := ws.RotateWebhookSecret(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, hook)
	return nil
}

func (s *Server) webhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	ws, id, err := s.webhookRequest(r)
	if err != nil {
		return err
	}
	limit, err := limitParam(r.URL.Query())
	if err != nil {
		return err
	}
	page, err := ws.WebhookDeliveries(r.Context(), id, limit, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}
