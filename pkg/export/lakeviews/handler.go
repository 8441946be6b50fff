package lakeviews

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"

	"github.com/refx-dev/refx/pkg/refx"
)

// Properties are the custom resource's properties (CloudFormation passes
// them as ResourceProperties): where the views go, their statements, and
// the tables they may read besides each other (the exported tables). The
// statements are in the properties, not only in the function's code, so
// that changing a view changes the resource and CloudFormation sends an
// Update; the tables too, so that the function need not link the exporter.
type Properties struct {
	WorkGroup string   `json:"WorkGroup"`
	Database  string   `json:"Database"`
	Tables    []string `json:"Tables"`
	Views     []View   `json:"Views"`
}

// Config configures a Handler.
type Config struct {
	// Athena runs the statements.
	Athena *athena.Client
	// PollInterval is the wait between two GetQueryExecution calls
	// (default 500 ms: a view's DDL takes Athena about a second).
	PollInterval time.Duration
	// Logger receives a line per statement (default: discard).
	Logger *slog.Logger
}

// Handler is the custom resource's handler.
type Handler struct {
	cfg Config
}

// New returns a Handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Athena == nil {
		return nil, errors.New("lakeviews.New: an Athena client is required")
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 500 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg}, nil
}

// responseMargin is kept from the invocation's deadline to send the
// response to CloudFormation: a handler cut off by its timeout sends
// none, and the stack would wait for the custom resource's ServiceTimeout.
const responseMargin = 5 * time.Second

// Handle serves one custom resource request (cfn.LambdaWrap sends the
// response): Create and Update create the views, Delete drops them. Its
// physical id names the workgroup and the database, so that moving the
// views to another database replaces the resource, and CloudFormation then
// deletes the views of the old one.
func (h *Handler) Handle(ctx context.Context, ev cfn.Event) (string, map[string]any, error) {
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-responseMargin))
		defer cancel()
	}
	props, err := decode(ev.ResourceProperties)
	if err != nil {
		if ev.RequestType == cfn.RequestDelete {
			// A resource whose properties never made sense created no
			// view; failing its deletion would leave the stack stuck.
			h.cfg.Logger.WarnContext(ctx, "lakeviews: delete of unreadable properties: nothing to drop", "err", err)
			return ev.PhysicalResourceID, nil, nil
		}
		return "", nil, err
	}
	id := "athena-views/" + props.WorkGroup + "/" + props.Database
	switch ev.RequestType {
	case cfn.RequestCreate:
		return id, nil, h.Create(ctx, props)
	case cfn.RequestUpdate:
		old, err := decode(ev.OldResourceProperties)
		if err != nil {
			return "", nil, fmt.Errorf("the previous properties: %w", err)
		}
		return id, nil, h.Update(ctx, old, props)
	case cfn.RequestDelete:
		return ev.PhysicalResourceID, nil, h.Delete(ctx, props)
	}
	return "", nil, refx.Errorf(refx.EINVALID, "unknown request type %q", ev.RequestType)
}

func decode(raw map[string]any) (Properties, error) {
	var p Properties
	b, err := json.Marshal(raw)
	if err == nil {
		err = json.Unmarshal(b, &p)
	}
	switch {
	case err != nil:
		return Properties{}, refx.Errorf(refx.EINVALID, "properties: %v", err)
	case p.WorkGroup == "" || p.Database == "":
		return Properties{}, refx.Errorf(refx.EINVALID, "properties: WorkGroup and Database are required")
	}
	return p, nil
}

// Create runs every view's statement, each after the views it reads.
func (h *Handler) Create(ctx context.Context, p Properties) error {
	views, err := Order(p.Views, p.Tables)
	if err != nil {
		return err
	}
	for _, v := range views {
		if err := h.run(ctx, p, v.Name, v.SQL); err != nil {
			return err
		}
	}
	return nil
}

// Update creates every view of p again, then drops the views of old that p
// no longer has (in old's database, when it is p's: otherwise the
// replaced resource's Delete drops them).
func (h *Handler) Update(ctx context.Context, old, p Properties) error {
	if err := h.Create(ctx, p); err != nil {
		return err
	}
	if old.WorkGroup != p.WorkGroup || old.Database != p.Database {
		return nil
	}
	var gone []View
	for _, v := range old.Views {
		if !slices.ContainsFunc(p.Views, func(n View) bool { return strings.EqualFold(n.Name, v.Name) }) {
			gone = append(gone, v)
		}
	}
	return h.Delete(ctx, Properties{WorkGroup: old.WorkGroup, Database: old.Database, Tables: old.Tables, Views: gone})
}

// Delete drops the views, readers before the views they read. Views that
// cannot be ordered (a resource whose Create failed on them) are dropped in
// the reverse of their listed order: DROP VIEW IF EXISTS does not depend
// on it in Athena.
func (h *Handler) Delete(ctx context.Context, p Properties) error {
	views, err := Order(p.Views, p.Tables)
	if err != nil {
		h.cfg.Logger.WarnContext(ctx, "lakeviews: dropping views in their listed order", "err", err)
		views = slices.Clone(p.Views)
	}
	slices.Reverse(views)
	for _, v := range views {
		if !viewName.MatchString(v.Name) {
			return refx.Errorf(refx.EINVALID, "cannot drop a view named %q", v.Name)
		}
		if err := h.run(ctx, p, v.Name, "DROP VIEW IF EXISTS "+v.Name); err != nil {
			return err
		}
	}
	return nil
}

// run executes one statement in p's workgroup and database and waits for
// it to end.
func (h *Handler) run(ctx context.Context, p Properties, view, stmt string) error {
	start := time.Now()
	out, err := h.cfg.Athena.StartQueryExecution(ctx, &athena.StartQueryExecutionInput{
		QueryString: aws.String(stmt),
		WorkGroup:   aws.String(p.WorkGroup),
		QueryExecutionContext: &types.QueryExecutionContext{
			Catalog: aws.String("AwsDataCatalog"), Database: aws.String(p.Database),
		},
	})
	if err != nil {
		return fmt.Errorf("view %s: athena.StartQueryExecution: %w", view, err)
	}
	id := aws.ToString(out.QueryExecutionId)
	for {
		got, err := h.cfg.Athena.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: out.QueryExecutionId})
		if err != nil {
			return fmt.Errorf("view %s: athena.GetQueryExecution %s: %w", view, id, err)
		}
		var status types.QueryExecutionStatus
		if got.QueryExecution != nil && got.QueryExecution.Status != nil {
			status = *got.QueryExecution.Status
		}
		switch status.State {
		case types.QueryExecutionStateSucceeded:
			h.cfg.Logger.InfoContext(ctx, "lakeviews: ran", "view", view, "statement", firstWords(stmt),
				"query_execution_id", id, "duration_ms", time.Since(start).Milliseconds())
			return nil
		case types.QueryExecutionStateFailed, types.QueryExecutionStateCancelled:
			reason := aws.ToString(status.StateChangeReason)
			if reason == "" && status.AthenaError != nil {
				reason = aws.ToString(status.AthenaError.ErrorMessage)
			}
			return fmt.Errorf("view %s: Athena query %s %s: %s", view, id, status.State, reason)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("view %s: Athena query %s still %s: %w", view, id, status.State, ctx.Err())
		case <-time.After(h.cfg.PollInterval):
		}
	}
}

// firstWords is the start of a statement, for logs.
func firstWords(stmt string) string {
	f := strings.Fields(stripComments(stmt))
	return strings.Join(f[:min(len(f), 5)], " ")
}
