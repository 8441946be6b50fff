package dynamo_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refx-dev/refx/pkg/refx"
)

// TestKeyWritesAudited: creating, re-roling and revoking a key are each one
// transaction with its audit entry, through DynamoDB's conflict rules
// (ddbsim): the entry names the actor of the request, holds no digest, and
// a write that changes nothing (a taken id, a second revocation, the same
// role) writes no entry. It logs what each write costs in write units.
func TestKeyWritesAudited(t *testing.T) {
	t.Parallel()
	c := MustContention(t, true)
	owner := refx.Actor{ID: "admin:0123456789abcdef", Name: "Olga", Role: refx.RoleOwner}
	ctx := refx.WithActor(context.Background(), owner)
	issued, err := refx.NewKey{Name: "Alice", Kind: refx.KeyAdmin, Role: refx.RoleViewer}.Issue(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	id := issued.ID
	entries := func() []*refx.AuditEntry {
		t.Helper()
		page, err := c.direct.Audit(ctx, refx.AuditFilter{Resource: refx.AuditKey, ResourceID: id, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return page.Entries
	}
	wru := map[string]int64{}
	measure := func(name string, write func() error) {
		t.Helper()
		c.proxy.Reset()
		if err := write(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		wru[name] = c.proxy.Usage().WRU()
	}

	measure("create", func() error { return c.through.CreateKey(ctx, issued.APIKey) })
	if err := c.through.CreateKey(ctx, issued.APIKey); refx.ErrorCode(err) != refx.ECONFLICT {
		t.Fatalf("second create of %s: %v, want conflict", id, err)
	}
	measure("set_role", func() error {
		k, err := c.through.SetKeyRole(ctx, id, refx.RoleEditor)
		if err == nil && k.Role != refx.RoleEditor {
			t.Errorf("role %s after the change", k.Role)
		}
		return err
	})
	if _, err := c.through.SetKeyRole(ctx, id, refx.RoleEditor); err != nil {
		t.Fatalf("same role again: %v", err)
	}
	measure("revoke", func() error {
		k, err := c.through.RevokeKey(ctx, id)
		if err == nil && !k.Revoked() {
			t.Errorf("not revoked: %+v", k)
		}
		return err
	})
	again, err := c.through.RevokeKey(ctx, id)
	if err != nil || !again.Revoked() {
		t.Fatalf("second revocation: %+v %v", again, err)
	}
	if _, err := c.through.SetKeyRole(ctx, id, refx.RoleOwner); refx.ErrorCode(err) != refx.ECONFLICT {
		t.Fatalf("role of a revoked key: %v, want conflict", err)
	}

	got := entries()
	var actions []string
	for i := len(got) - 1; i >= 0; i-- {
		e := got[i]
		actions = append(actions, e.Action)
		raw, _ := json.Marshal(e)
		if e.Actor != owner || strings.Contains(string(raw), issued.Digest) || strings.Contains(string(raw), issued.Key) {
			t.Errorf("entry %s: actor %+v, or a secret in %s", e.ID, e.Actor, raw)
		}
	}
	if strings.Join(actions, ",") != "create,set_role,revoke" {
		t.Fatalf("entries %v, want create, set_role, revoke once each", actions)
	}
	// A key item and an entry under 1 KB each, written transactionally (2
	// WRU per KB): 4 WRU per key write.
	for name, w := range wru {
		if w != 4 {
			t.Errorf("%s: %d WRU, want 4", name, w)
		}
	}
	t.Logf("write units: create %d, set_role %d, revoke %d", wru["create"], wru["set_role"], wru["revoke"])
}

// TestKeyRoleChangesUnderConflicts: owners re-roling one key at once,
// through DynamoDB's transaction conflicts: each change is conditioned on
// the role it read, so one wins per round, the others are refused
// (ECONFLICT) or find the role already set, and the audit log is a chain
// ending at the key's role.
func TestKeyRoleChangesUnderConflicts(t *testing.T) {
	t.Parallel()
	c := MustContention(t, true)
	ctx := refx.WithActor(context.Background(), refx.BootstrapActor)
	issued, _ := refx.NewKey{Name: "Target", Kind: refx.KeyAdmin, Role: refx.RoleViewer}.Issue(time.Now())
	if err := c.direct.CreateKey(ctx, issued.APIKey); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	for i := range 12 {
		wg.Go(func() {
			role := refx.AdminRoles[1+i%3]
			_, err := retry(c, func() (*refx.APIKey, error) { return c.through.SetKeyRole(ctx, issued.ID, role) })
			mu.Lock()
			codes[refx.ErrorCode(err)]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[""]+codes[refx.ECONFLICT] != 12 || codes[""] == 0 {
		t.Fatalf("answers %v", codes)
	}
	page, err := c.direct.Audit(ctx, refx.AuditFilter{Resource: refx.AuditKey, ResourceID: issued.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	prev := refx.RoleViewer
	changes := 0
	for i := len(page.Entries) - 1; i >= 0; i-- {
		e := page.Entries[i]
		if e.Action != "set_role" {
			continue
		}
		var before, after refx.APIKey
		if json.Unmarshal(e.Before, &before) != nil || json.Unmarshal(e.After, &after) != nil || before.Role != prev {
			t.Fatalf("entry %s changes %s → %s, but the key was %s", e.ID, before.Role, after.Role, prev)
		}
		prev = after.Role
		changes++
	}
	key, err := c.direct.Key(ctx, issued.ID)
	if err != nil || key.Role != prev || changes > codes[""] {
		t.Fatalf("key role %v (%v), log ends at %s; %d entries for %d successes", key.Role, err, prev, changes, codes[""])
	}
	t.Logf("12 concurrent role changes: %d answered (%d entries), %d refused; %d transaction conflicts met", codes[""], changes, codes[refx.ECONFLICT], c.proxy.Usage().Conflicts())
}
