package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/refx-dev/refx/pkg/refx"
)

// TestContentionFlagWrites changes flags from several admins at once while
// SDK-serving instances read the payload, through real DynamoDB's conflict
// rules. Flag writes serialize on the flags' version by design (each
// rewrites every environment's payload); what must hold is that every
// change lands exactly once, the payload ends holding every last value,
// a reader never sees the payload's version go back, and reads never
// conflict. It also logs what one flag change costs in write units.
func TestContentionFlagWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := MustContention(t, true)
	const flags, changes, admins = 12, 4, 6
	for i := range flags {
		f := MustFlag(t, fmt.Sprintf(`{"key":"flag-%02d","kind":"release","value_type":"number","default_value":0,
		  "environments":{"production":{"enabled":true,"rules":[{"force":1,"condition":{"plan":"pro"}},{"force":2,"coverage":0.5}]}}}`, i))
		if err := c.direct.CreateFlag(ctx, f); err != nil {
			t.Fatal(err)
		}
	}

	c.proxy.Reset()
	if _, err := c.through.UpdateFlag(ctx, "flag-00", refx.FlagPatch{Version: 1, DefaultValue: json.RawMessage("100")}); err != nil {
		t.Fatal(err)
	}
	t.Logf("one flag change among %d flags: %d WRU (the flag, its audit entry, the flags' version, 2 environments' payloads, twice as a transaction)", flags, c.proxy.Usage().WRU())

	stop := make(chan struct{})
	var readers sync.WaitGroup
	var reads atomic.Int64
	for range 8 {
		readers.Go(func() {
			var last int64
			for {
				select {
				case <-stop:
					return
				default:
				}
				p, err := c.through.FlagPayload(ctx, refx.EnvProduction)
				if err != nil {
					t.Error(err)
					return
				}
				if p.Version < last {
					t.Errorf("payload version %d after %d", p.Version, last)
				}
				last = p.Version
				reads.Add(1)
			}
		})
	}
	var ops []func() error
	for i := range flags {
		key := fmt.Sprintf("flag-%02d", i)
		ops = append(ops, func() error {
			for n := range changes {
				_, err := retry(c, func() (*refx.Flag, error) {
					f, err := c.through.Flag(ctx, key)
					if err != nil {
						return nil, err
					}
					return c.through.UpdateFlag(ctx, key, refx.FlagPatch{Version: f.Version, DefaultValue: fmt.Appendf(nil, "%d", 1000+n)})
				})
				if err != nil {
					return fmt.Errorf("%s change %d: %w", key, n, err)
				}
			}
			return nil
		})
	}
	runAll(t, admins, ops)
	close(stop)
	readers.Wait()
	c.report(t)
	u := c.proxy.Usage()
	if o := u.Operations["GetItem"]; o.Conflicts != 0 {
		t.Errorf("%d payload reads conflicted", o.Conflicts)
	}
	t.Logf("%d payload reads during %d changes", reads.Load(), flags*changes)

	p, err := c.direct.FlagPayload(ctx, refx.EnvProduction)
	if err != nil {
		t.Fatal(err)
	}
	for i := range flags {
		key := fmt.Sprintf("flag-%02d", i)
		f, err := c.direct.Flag(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		wantVersion := int64(1 + changes)
		if i == 0 {
			wantVersion++ // the measured change
		}
		if f.Version != wantVersion || string(f.DefaultValue) != fmt.Sprint(1000+changes-1) || string(p.Features[key].DefaultValue) != string(f.DefaultValue) {
			t.Errorf("%s: version %d (want %d), default %s, in the payload %s", key, f.Version, wantVersion, f.DefaultValue, p.Features[key].DefaultValue)
		}
	}
}
