package lakeviews_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"

	"github.com/refx-dev/refx/pkg/export/lakeviews"
	"github.com/refx-dev/refx/pkg/export/localquery"
)

const (
	workGroup = "refx-test"
	database  = "refx_test"
)

// athenaLocal speaks the part of Athena's JSON API (awsjson1.1,
// X-Amz-Target: AmazonAthena.<operation>) the handler uses, running each
// statement in DuckDB over the exported tables (localquery, over an empty
// export). DuckDB, like Athena, resolves a view's tables when the view is
// created: a view created before a view it reads fails here as it does in
// Athena. A query reports RUNNING at its first poll, then its outcome.
type athenaLocal struct {
	db *localquery.DB

	mu      sync.Mutex
	queries map[string]*localQuery
	ran     []string // the statements, in the order they ran
}

type localQuery struct {
	polls         int
	state, reason string
}

func newAthenaLocal(t *testing.T) (*athenaLocal, *athena.Client) {
	t.Helper()
	// The tables without refx's views, which the handler is to create:
	// a schema directory whose one view reads no table.
	schema := t.TempDir()
	if err := os.MkdirAll(filepath.Join(schema, "views"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(schema, "views", "placeholder.sql"), []byte("CREATE VIEW placeholder AS SELECT 1 AS one"), 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := localquery.Open(t.Context(), localquery.Options{Root: t.TempDir(), Prefix: "export/", SchemaDir: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a := &athenaLocal{db: db, queries: map[string]*localQuery{}}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	client := athena.New(athena.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	return a, client
}

func (a *athenaLocal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(kind, msg string) {
		w.Header().Set("X-Amzn-ErrorType", kind)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"__type": kind, "Message": msg})
	}
	var in struct {
		QueryString           string
		WorkGroup             string
		QueryExecutionContext struct{ Catalog, Database string }
		QueryExecutionId      string
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail("InvalidRequestException", err.Error())
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var out any
	switch op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonAthena."); op {
	case "StartQueryExecution":
		if in.WorkGroup != workGroup {
			fail("InvalidRequestException", "WorkGroup "+in.WorkGroup+" is not found.")
			return
		}
		q := &localQuery{state: "SUCCEEDED"}
		switch {
		case in.QueryExecutionContext.Database != database:
			q.state, q.reason = "FAILED", "SCHEMA_NOT_FOUND: Schema '"+in.QueryExecutionContext.Database+"' does not exist"
		default:
			a.ran = append(a.ran, in.QueryString)
			if _, err := a.db.Query(r.Context(), in.QueryString); err != nil {
				q.state, q.reason = "FAILED", err.Error()
			}
		}
		id := fmt.Sprintf("q-%d", len(a.queries)+1)
		a.queries[id] = q
		out = map[string]string{"QueryExecutionId": id}
	case "GetQueryExecution":
		q := a.queries[in.QueryExecutionId]
		if q == nil {
			fail("InvalidRequestException", "QueryExecution "+in.QueryExecutionId+" was not found")
			return
		}
		q.polls++
		status := map[string]string{"State": q.state}
		switch {
		case q.polls == 1:
			status["State"] = "RUNNING"
		case q.reason != "":
			status["StateChangeReason"] = q.reason
		}
		out = map[string]any{"QueryExecution": map[string]any{"QueryExecutionId": in.QueryExecutionId, "Status": status}}
	default:
		fail("UnknownOperationException", "unknown operation "+op)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

// views are the names of the views DuckDB has, of those named.
func (a *athenaLocal) views(t *testing.T, names []lakeviews.View) []string {
	t.Helper()
	res, err := a.db.Query(t.Context(), "SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY view_name")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, row := range res.Rows {
		if slices.ContainsFunc(names, func(v lakeviews.View) bool { return v.Name == row[0] }) {
			out = append(out, row[0].(string))
		}
	}
	return out
}

// cloudFormation receives the custom resource's responses (the PUT to the
// request's ResponseURL that cfn.LambdaWrap sends).
type cloudFormation struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []cfn.Response
}

func newCloudFormation(t *testing.T) *cloudFormation {
	c := &cloudFormation{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var resp cfn.Response
		if r.Method != http.MethodPut || json.Unmarshal(body, &resp) != nil {
			t.Errorf("response %s %s", r.Method, body)
		}
		c.mu.Lock()
		c.got = append(c.got, resp)
		c.mu.Unlock()
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// send invokes the Lambda's function (cfn.LambdaWrap around Handle, as
// functions/lakeviews runs it) and returns the response CloudFormation got.
func (c *cloudFormation) send(t *testing.T, h *lakeviews.Handler, ev cfn.Event) cfn.Response {
	t.Helper()
	ev.ResponseURL = c.srv.URL
	ev.StackID, ev.RequestID, ev.LogicalResourceID = "arn:aws:cloudformation:us-east-1:123456789012:stack/Refx-test/x", fmt.Sprint(time.Now().UnixNano()), "Views"
	if _, err := cfn.LambdaWrap(h.Handle)(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.got) == 0 {
		t.Fatal("no response sent")
	}
	return c.got[len(c.got)-1]
}

// properties are the custom resource's properties as CloudFormation sends
// them: JSON objects.
func properties(t *testing.T, p lakeviews.Properties) map[string]any {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func names(views []lakeviews.View) []string {
	var out []string
	for _, v := range views {
		out = append(out, v.Name)
	}
	slices.Sort(out)
	return out
}

// TestHandler runs the custom resource's requests through Athena's API
// against DuckDB: Create makes every view of schema/athena/views in an
// order the engine accepts, after which every named query runs; Update
// reruns a changed view and drops one no longer listed; a failing statement
// fails the request with the engine's reason; Delete drops them all.
func TestHandler(t *testing.T) {
	athenaLocal, client := newAthenaLocal(t)
	h, err := lakeviews.New(lakeviews.Config{Athena: client, PollInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cf := newCloudFormation(t)
	views := MustSchemaViews(t)
	props := lakeviews.Properties{WorkGroup: workGroup, Database: database, Tables: exportTables(), Views: views}
	physicalID := "athena-views/" + workGroup + "/" + database

	t.Run("FakeBindsAtCreation", func(t *testing.T) {
		// The statements in file order fail: assignments_unique reads
		// erased_ids, which does not exist yet.
		out, err := client.StartQueryExecution(t.Context(), &athena.StartQueryExecutionInput{
			QueryString: aws.String(views[0].SQL), WorkGroup: aws.String(workGroup),
			QueryExecutionContext: &types.QueryExecutionContext{Database: aws.String(database)},
		})
		if err != nil {
			t.Fatal(err)
		}
		var got *athena.GetQueryExecutionOutput
		for range 2 {
			if got, err = client.GetQueryExecution(t.Context(), &athena.GetQueryExecutionInput{QueryExecutionId: out.QueryExecutionId}); err != nil {
				t.Fatal(err)
			}
		}
		if views[0].Name != "assignments_unique" || got.QueryExecution.Status.State != types.QueryExecutionStateFailed ||
			!strings.Contains(aws.ToString(got.QueryExecution.Status.StateChangeReason), "erased_ids") {
			t.Fatalf("%s first: %s %s, want FAILED for the missing erased_ids", views[0].Name, got.QueryExecution.Status.State,
				aws.ToString(got.QueryExecution.Status.StateChangeReason))
		}
	})

	t.Run("Create", func(t *testing.T) {
		athenaLocal.ran = nil
		resp := cf.send(t, h, cfn.Event{RequestType: cfn.RequestCreate, ResourceProperties: properties(t, props)})
		if resp.Status != cfn.StatusSuccess || resp.PhysicalResourceID != physicalID {
			t.Fatalf("response %+v", resp)
		}
		if got := athenaLocal.views(t, views); !slices.Equal(got, names(views)) {
			t.Errorf("views %v, want %v", got, names(views))
		}
		ordered, _ := lakeviews.Order(views, exportTables())
		for i, v := range ordered {
			if i >= len(athenaLocal.ran) || athenaLocal.ran[i] != v.SQL {
				t.Fatalf("statement %d is not %s's", i, v.Name)
			}
		}
		queries, _ := filepath.Glob(filepath.Join("..", "..", "..", "schema", "athena", "queries", "*.sql"))
		for _, q := range queries {
			b, err := os.ReadFile(q)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := athenaLocal.db.Query(t.Context(), string(b)); err != nil {
				t.Errorf("named query %s after Create: %v", filepath.Base(q), err)
			}
		}
	})

	changed := slices.Clone(views)
	var dropped lakeviews.View
	for i, v := range changed {
		if v.Name == "events_unique" {
			changed[i].SQL = strings.Replace(v.SQL, "SELECT event_id,", "SELECT 'v2' AS revision, event_id,", 1)
			if changed[i].SQL == v.SQL {
				t.Fatal("events_unique does not start with SELECT event_id,: adapt the test's change")
			}
		}
	}
	changed = slices.DeleteFunc(changed, func(v lakeviews.View) bool {
		if v.Name == "referral_clicks_unique" {
			dropped = v
			return true
		}
		return false
	})
	newProps := lakeviews.Properties{WorkGroup: workGroup, Database: database, Tables: exportTables(), Views: changed}

	t.Run("Update", func(t *testing.T) {
		resp := cf.send(t, h, cfn.Event{
			RequestType: cfn.RequestUpdate, PhysicalResourceID: physicalID,
			ResourceProperties: properties(t, newProps), OldResourceProperties: properties(t, props),
		})
		if resp.Status != cfn.StatusSuccess || resp.PhysicalResourceID != physicalID {
			t.Fatalf("response %+v", resp)
		}
		if _, err := athenaLocal.db.Query(t.Context(), "SELECT revision FROM events_unique"); err != nil {
			t.Errorf("the changed events_unique: %v", err)
		}
		if got := athenaLocal.views(t, []lakeviews.View{dropped}); len(got) != 0 {
			t.Errorf("%s is still there", dropped.Name)
		}
		if got := athenaLocal.views(t, views); len(got) != len(views)-1 {
			t.Errorf("views %v", got)
		}
	})

	t.Run("ErrFailingStatement", func(t *testing.T) {
		broken := append(slices.Clone(changed), lakeviews.View{Name: "broken_totals",
			SQL: "CREATE OR REPLACE VIEW broken_totals AS SELECT no_such_column FROM events_unique"})
		resp := cf.send(t, h, cfn.Event{
			RequestType: cfn.RequestUpdate, PhysicalResourceID: physicalID,
			ResourceProperties:    properties(t, lakeviews.Properties{WorkGroup: workGroup, Database: database, Tables: exportTables(), Views: broken}),
			OldResourceProperties: properties(t, newProps),
		})
		if resp.Status != cfn.StatusFailed || !strings.Contains(resp.Reason, "view broken_totals: Athena query") ||
			!strings.Contains(resp.Reason, "FAILED") || !strings.Contains(resp.Reason, "no_such_column") {
			t.Errorf("response %s %q, want FAILED with the engine's reason", resp.Status, resp.Reason)
		}
	})

	t.Run("ErrInvalidViews", func(t *testing.T) {
		athenaLocal.ran = nil
		cyclic := []lakeviews.View{
			{Name: "a", SQL: "CREATE OR REPLACE VIEW a AS SELECT * FROM b"},
			{Name: "b", SQL: "CREATE OR REPLACE VIEW b AS SELECT * FROM a"},
		}
		resp := cf.send(t, h, cfn.Event{RequestType: cfn.RequestCreate,
			ResourceProperties: properties(t, lakeviews.Properties{WorkGroup: workGroup, Database: database, Tables: exportTables(), Views: cyclic})})
		if resp.Status != cfn.StatusFailed || !strings.Contains(resp.Reason, "cycle") || len(athenaLocal.ran) != 0 {
			t.Errorf("response %s %q after %d statements, want FAILED before any", resp.Status, resp.Reason, len(athenaLocal.ran))
		}
	})

	t.Run("ErrWorkGroup", func(t *testing.T) {
		resp := cf.send(t, h, cfn.Event{RequestType: cfn.RequestCreate,
			ResourceProperties: properties(t, lakeviews.Properties{WorkGroup: "other", Database: database, Tables: exportTables(), Views: views})})
		if resp.Status != cfn.StatusFailed || !strings.Contains(resp.Reason, "WorkGroup other is not found") {
			t.Errorf("response %s %q", resp.Status, resp.Reason)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		athenaLocal.ran = nil
		resp := cf.send(t, h, cfn.Event{RequestType: cfn.RequestDelete, PhysicalResourceID: physicalID, ResourceProperties: properties(t, newProps)})
		if resp.Status != cfn.StatusSuccess || resp.PhysicalResourceID != physicalID {
			t.Fatalf("response %+v", resp)
		}
		if got := athenaLocal.views(t, views); len(got) != 0 {
			t.Errorf("views left: %v", got)
		}
		// Readers first: erased_ids, which the *_unique views read, last.
		if len(athenaLocal.ran) != len(changed) || athenaLocal.ran[len(athenaLocal.ran)-1] != "DROP VIEW IF EXISTS erased_ids" {
			t.Errorf("dropped %v", athenaLocal.ran)
		}
	})

	t.Run("DeleteAfterFailedCreate", func(t *testing.T) {
		// CloudFormation deletes a resource whose Create failed, with the
		// same properties: views that cannot be ordered are dropped in
		// the reverse of their listed order, and the deletion succeeds.
		athenaLocal.ran = nil
		cyclic := []lakeviews.View{
			{Name: "a", SQL: "CREATE OR REPLACE VIEW a AS SELECT * FROM b"},
			{Name: "b", SQL: "CREATE OR REPLACE VIEW b AS SELECT * FROM a"},
		}
		resp := cf.send(t, h, cfn.Event{RequestType: cfn.RequestDelete, PhysicalResourceID: "request-id",
			ResourceProperties: properties(t, lakeviews.Properties{WorkGroup: workGroup, Database: database, Tables: exportTables(), Views: cyclic})})
		if resp.Status != cfn.StatusSuccess || !slices.Equal(athenaLocal.ran, []string{"DROP VIEW IF EXISTS b", "DROP VIEW IF EXISTS a"}) {
			t.Errorf("response %s %q, statements %v", resp.Status, resp.Reason, athenaLocal.ran)
		}
	})

	t.Run("DeleteUnreadable", func(t *testing.T) {
		resp := cf.send(t, h, cfn.Event{RequestType: cfn.RequestDelete, PhysicalResourceID: "x", ResourceProperties: map[string]any{"Views": "?"}})
		if resp.Status != cfn.StatusSuccess {
			t.Errorf("response %+v: a resource that never was must delete", resp)
		}
	})
}
