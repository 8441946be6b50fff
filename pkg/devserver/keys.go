package devserver

import (
	"context"
	"time"

	"github.com/refx-dev/refx/pkg/dynamo"
	"github.com/refx-dev/refx/pkg/refx"
)

// Names of the keys the local server makes for itself.
const (
	devClientKeyName = "devserver client"
	devSecretKeyName = "devserver secret"
)

// devKeys are the keys of one run of the local server: a client key for
// any origin (the demo pages, a site under development) and a secret key
// for curl and backends. A run revokes the previous run's keys, so that a
// persistent table does not collect live keys.
type devKeys struct{ client, secret string }

func newDevKeys(ctx context.Context, store *dynamo.Store) (devKeys, error) {
	existing, err := store.Keys(ctx)
	if err != nil {
		return devKeys{}, err
	}
	for _, k := range existing {
		if !k.Revoked() && (k.Name == devClientKeyName || k.Name == devSecretKeyName) {
			if _, err := store.RevokeKey(ctx, k.ID); err != nil {
				return devKeys{}, err
			}
		}
	}
	var keys devKeys
	for _, n := range []struct {
		req refx.NewKey
		out *string
	}{
		{refx.NewKey{Name: devClientKeyName, Kind: refx.KeyClient, Origins: []string{"*"}}, &keys.client},
		{refx.NewKey{Name: devSecretKeyName, Kind: refx.KeySecret}, &keys.secret},
	} {
		issued, err := n.req.Issue(time.Now())
		if err != nil {
			return devKeys{}, err
		}
		if err := store.CreateKey(ctx, issued.APIKey); err != nil {
			return devKeys{}, err
		}
		*n.out = issued.Key
	}
	return keys, nil
}
