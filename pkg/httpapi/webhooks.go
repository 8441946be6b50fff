package httpapi

import (
	"context"
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
	return storeAs[refx.WebhookService](s, "webhooks")
}

// webhookRequest returns the store and the subscription id of the path.
func (s *Server) webhookRequest(r *http.Request) (refx.WebhookService, string, error) {
	return storeAndID(r, s.webhooks, refx.ValidWebhookID, func(id string) error { return refx.Errorf(refx.ENOTFOUND, "webhook %q not found", id) })
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
	return answer(w, http.StatusOK, hook, err)
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
	if err := versionRead(p.Version); err != nil {
		return err
	}
	if p.URL != nil {
		if err := s.WebhookPolicy.CheckTarget(r.Context(), *p.URL); err != nil {
			return err
		}
	}
	hook, err := ws.UpdateWebhook(r.Context(), id, p)
	return answer(w, http.StatusOK, hook, err)
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
	return answer(w, http.StatusOK, hook, err)
}

func (s *Server) webhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	ws, id, err := s.webhookRequest(r)
	if err != nil {
		return err
	}
	return writePage(w, r, func(ctx context.Context, limit int, cursor string) (*refx.WebhookDeliveryPage, error) {
		return ws.WebhookDeliveries(ctx, id, limit, cursor)
	})
}
