package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/refx"
)

var _ refx.WebhookService = (*Store)(nil)

// Webhook entities: subscriptions and their delivery log.
const (
	entityWebhook  = "webhook"
	entityDelivery = "webhook_delivery"
)

// DeliveryLogTTL is how long a delivery attempt stays in the log.
const DeliveryLogTTL = 30 * 24 * time.Hour

// webhookItem is a subscription. The secret is stored because deliveries
// are signed with it; the API, the audit entries (refx.Webhook's secret is
// json "-") and the exporter (which exports experiment items only) never
// show it.
type webhookItem struct {
	itemKey
	GSI1PK      string    `dynamodbav:"gsi1pk"`
	GSI1SK      string    `dynamodbav:"gsi1sk"`
	Entity      string    `dynamodbav:"entity"`
	ID          string    `dynamodbav:"id"`
	URL         string    `dynamodbav:"url"`
	Events      []string  `dynamodbav:"events"`
	Description string    `dynamodbav:"description,omitempty"`
	Disabled    bool      `dynamodbav:"disabled"`
	Version     int64     `dynamodbav:"version"`
	CreatedAt   time.Time `dynamodbav:"created_at"`
	UpdatedAt   time.Time `dynamodbav:"updated_at"`
	Secret      string    `dynamodbav:"secret"`
}

func toWebhookItem(w *refx.Webhook) webhookItem {
	return webhookItem{
		itemKey: webhookKey(w.ID), GSI1PK: webhookListPK, GSI1SK: experimentListSK(w.CreatedAt, w.ID), Entity: entityWebhook,
		ID: w.ID, URL: w.URL, Events: w.Events, Description: w.Description, Disabled: w.Disabled, Version: w.Version,
		CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt, Secret: w.Secret,
	}
}

func webhookOf(it webhookItem) *refx.Webhook {
	return &refx.Webhook{
		ID: it.ID, URL: it.URL, Events: it.Events, Description: it.Description, Disabled: it.Disabled, Version: it.Version,
		CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt, Secret: it.Secret,
	}
}

// deliveryItem is one delivery attempt, kept DeliveryLogTTL.
type deliveryItem struct {
	itemKey
	GSI1PK     string    `dynamodbav:"gsi1pk"`
	GSI1SK     string    `dynamodbav:"gsi1sk"`
	Entity     string    `dynamodbav:"entity"`
	Webhook    string    `dynamodbav:"webhook"`
	Event      string    `dynamodbav:"event"`
	Type       string    `dynamodbav:"type"`
	Attempt    int       `dynamodbav:"attempt"`
	At         time.Time `dynamodbav:"at"`
	StatusCode int       `dynamodbav:"status_code,omitempty"`
	LatencyMS  float64   `dynamodbav:"latency_ms"`
	Delivered  bool      `dynamodbav:"delivered"`
	Error      string    `dynamodbav:"error,omitempty"`
	ExpiresAt  time.Time `dynamodbav:"ttl,unixtime"`
}

func deliveryOf(it deliveryItem) *refx.WebhookDelivery {
	return &refx.WebhookDelivery{
		Webhook: it.Webhook, Event: it.Event, Type: it.Type, Attempt: it.Attempt, At: it.At,
		StatusCode: it.StatusCode, LatencyMS: it.LatencyMS, Delivered: it.Delivered, Error: it.Error,
	}
}

// CreateWebhook stores a new subscription with its audit entry.
func (s *Store) CreateWebhook(ctx context.Context, w *refx.Webhook) error {
	return s.writeWebhook(ctx, "CreateWebhook", "create", nil, w, absent(), refx.Errorf(refx.ECONFLICT, "webhook %s already exists", w.ID))
}

// Webhook reads a subscription, its secret included. ENOTFOUND.
func (s *Store) Webhook(ctx context.Context, id string) (*refx.Webhook, error) {
	var it webhookItem
	found, err := s.getItem(ctx, "Webhook", webhookKey(id), &it)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, refx.Errorf(refx.ENOTFOUND, "webhook %s not found", id)
	}
	return webhookOf(it), nil
}

// Webhooks lists subscriptions, newest first. EINVALID for a bad cursor.
func (s *Store) Webhooks(ctx context.Context, limit int, cursor string) (*refx.WebhookPage, error) {
	hooks, next, err := indexPage(ctx, s, "Webhooks", webhookListPK, limit, cursor, nil, webhookOf)
	if err != nil {
		return nil, err
	}
	return &refx.WebhookPage{Webhooks: hooks, NextCursor: next}, nil
}

// WebhookTargets reads every subscription with its secret: one query of
// gsi1's WEBHOOKS partition, which the reactor and the delivery worker
// cache for seconds rather than read per record.
func (s *Store) WebhookTargets(ctx context.Context) ([]*refx.Webhook, error) {
	in, err := s.indexQuery(webhookListPK, nil)
	if err != nil {
		return nil, storeError("WebhookTargets", err)
	}
	var hooks []*refx.Webhook
	err = s.queryAll(ctx, "WebhookTargets", in, func(page []map[string]types.AttributeValue) error {
		var items []webhookItem
		if err := attributevalue.UnmarshalListOfMaps(page, &items); err != nil {
			return err
		}
		for _, it := range items {
			hooks = append(hooks, webhookOf(it))
		}
		return nil
	})
	return hooks, err
}

// UpdateWebhook applies a patch if the client's version is current.
// ECONFLICT otherwise, ENOTFOUND, EINVALID.
func (s *Store) UpdateWebhook(ctx context.Context, id string, p refx.WebhookPatch) (*refx.Webhook, error) {
	current, err := s.Webhook(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.Version != current.Version {
		return nil, webhookChanged(current)
	}
	next, err := current.Apply(p, s.opts.Now())
	if err != nil {
		return nil, err
	}
	return next, s.writeWebhook(ctx, "UpdateWebhook", "update", current, next, sameVersion(current.Version), webhookChanged(current))
}

// RotateWebhookSecret replaces a subscription's secret. Deliveries signed
// after the change use the new one; the audit entry records the rotation,
// not the secret. ENOTFOUND, ECONFLICT on a concurrent change.
func (s *Store) RotateWebhookSecret(ctx context.Context, id string) (*refx.WebhookWithSecret, error) {
	current, err := s.Webhook(ctx, id)
	if err != nil {
		return nil, err
	}
	next := *current
	next.Secret, next.Version, next.UpdatedAt = refx.NewWebhookSecret(), current.Version+1, s.opts.Now().UTC()
	if err := s.writeWebhook(ctx, "RotateWebhookSecret", "rotate_secret", current, &next, sameVersion(current.Version), webhookChanged(current)); err != nil {
		return nil, err
	}
	return &refx.WebhookWithSecret{Webhook: &next, Secret: next.Secret}, nil
}

// DeleteWebhook deletes a subscription with its audit entry. Messages
// already queued for it are dropped by the worker. ENOTFOUND.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	current, err := s.Webhook(ctx, id)
	if err != nil {
		return err
	}
	del, err := conditionalDelete(s.table, webhookKey(id), sameVersion(current.Version))
	if err != nil {
		return storeError("DeleteWebhook", err)
	}
	return s.writeAudited(ctx, "DeleteWebhook", del, refx.AuditWebhook, id, "delete", current, nil, webhookChanged(current))
}

// writeWebhook puts next with its audit entry, on cond.
func (s *Store) writeWebhook(ctx context.Context, op, action string, before, next *refx.Webhook, cond expression.ConditionBuilder, conflict error) error {
	put, err := putItem(s.table, toWebhookItem(next), &cond)
	if err != nil {
		return storeError(op, err)
	}
	return s.writeAudited(ctx, op, put, refx.AuditWebhook, next.ID, action, before, next, conflict)
}

func webhookChanged(w *refx.Webhook) error {
	return refx.Errorf(refx.ECONFLICT, "webhook %s changed since version %d: read it again", w.ID, w.Version)
}

// LogWebhookDelivery records one delivery attempt. Its key is the
// (subscription, event, attempt), so logging the same attempt again
// overwrites it rather than adding a line.
func (s *Store) LogWebhookDelivery(ctx context.Context, d *refx.WebhookDelivery) error {
	at := d.At.UTC()
	av, err := attributevalue.MarshalMap(deliveryItem{
		itemKey: deliveryKey(d.Webhook, d.Event, d.Attempt), GSI1PK: deliveryLogPK(d.Webhook), GSI1SK: deliveryLogSK(at, d.Event, d.Attempt),
		Entity: entityDelivery, Webhook: d.Webhook, Event: d.Event, Type: d.Type, Attempt: d.Attempt, At: at,
		StatusCode: d.StatusCode, LatencyMS: d.LatencyMS, Delivered: d.Delivered, Error: d.Error, ExpiresAt: at.Add(DeliveryLogTTL),
	})
	if err != nil {
		return storeError("LogWebhookDelivery", err)
	}
	return storeError("LogWebhookDelivery", s.retry(ctx, "LogWebhookDelivery", func() error {
		_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: s.table, Item: av})
		return err
	}))
}

// WebhookDeliveries reads a subscription's delivery log, newest first.
// ENOTFOUND for an unknown subscription, EINVALID for a bad cursor.
func (s *Store) WebhookDeliveries(ctx context.Context, id string, limit int, cursor string) (*refx.WebhookDeliveryPage, error) {
	if _, err := s.Webhook(ctx, id); err != nil {
		return nil, err
	}
	ds, next, err := indexPage(ctx, s, "WebhookDeliveries", deliveryLogPK(id), limit, cursor, nil, deliveryOf)
	if err != nil {
		return nil, err
	}
	return &refx.WebhookDeliveryPage{Deliveries: ds, NextCursor: next}, nil
}
