package devserver_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/ddblocal"
	"github.com/refx-dev/refx/pkg/devserver"
	"github.com/refx-dev/refx/pkg/devserver/devservertest"
)

// TestCountsFreshAfterAcceptedEvents runs the local stack on a DynamoDB
// started outside it (--dynamodb-endpoint), sends assignments and events,
// and waits, on the results' counted_through and never on a sleep, until
// everything accepted is counted; then the counts must be exact.
func TestCountsFreshAfterAcceptedEvents(t *testing.T) {
	root, err := ddblocal.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	jarDir, err := ddblocal.Install(t.Context(), root)
	if err != nil {
		t.Fatal(err)
	}
	db, err := ddblocal.Start(t.Context(), ddblocal.Options{JarDir: jarDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Stop() })
	const key = "test-admin-key-0123456789"
	stack := devservertest.Start(t, devserver.Options{InMemory: true, AdminKey: key, DynamoDBEndpoint: db.Endpoint()})
	if !strings.Contains(stack.Out(), db.Endpoint()) {
		t.Fatalf("banner does not name the endpoint it uses:\n%s", stack.Out())
	}
	post := func(path, body string, want int) {
		t.Helper()
		res, err := stack.Post(path, body)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("POST %s: %d, want %d", path, res.StatusCode, want)
		}
	}
	const users = 25
	for i := range users {
		user := fmt.Sprintf("fresh-%02d", i)
		post("/v1/assign", `{"experiment":"`+devserver.DemoExperiment+`","user":"`+user+`"}`, http.StatusOK)
		post("/v1/events", fmt.Sprintf(`{"id":"00000000-0000-4000-8000-%012d","type":"signup","user":%q}`, i, user), http.StatusAccepted)
	}
	accepted := time.Now()

	var res struct {
		CountedThrough *time.Time `json:"counted_through"`
		Variants       []struct {
			Participants int64 `json:"participants"`
			Goals        map[string]struct {
				Events int64 `json:"events"`
			} `json:"goals"`
		} `json:"variants"`
	}
	deadline := accepted.Add(30 * time.Second)
	for polls := 0; ; polls++ {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", stack.URL+"/v1/experiments/"+devserver.DemoExperiment+"/results", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(r.Body).Decode(&res)
		r.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if res.CountedThrough != nil && !res.CountedThrough.Before(accepted) {
			t.Logf("counted through the last accepted event %v after it (%d polls)", time.Since(accepted).Round(time.Millisecond), polls+1)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("counted_through = %v, still before the last accepted event at %v", res.CountedThrough, accepted)
		}
	}
	var participants, signups int64
	for _, v := range res.Variants {
		participants += v.Participants
		signups += v.Goals["signup"].Events
	}
	if participants != users || signups != users {
		t.Fatalf("counted %d participants and %d signups, want %d of each", participants, signups, users)
	}
}
