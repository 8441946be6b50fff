package ddbsim_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/refx-dev/refx/pkg/ddbsim"
)

// holdLatency is long enough for a contender to arrive while a holder's
// items are held, even on a loaded machine.
const holdLatency = 400 * time.Millisecond

// reasonCodes returns the cancellation reasons of a TransactionCanceledException, or nil.
func reasonCodes(err error) []string {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil
	}
	codes := make([]string, len(tce.CancellationReasons))
	for i, r := range tce.CancellationReasons {
		codes[i] = aws.ToString(r.Code)
	}
	return codes
}

func isTransactionConflict(err error) bool {
	var tce *types.TransactionConflictException
	return errors.As(err, &tce)
}

// TestTransactionConflict holds item X in a transaction through each kind
// of action, and sends each kind of request for X meanwhile.
func TestTransactionConflict(t *testing.T) {
	t.Parallel()
	holders := []struct {
		name   string
		action func(e env, pk string) types.TransactWriteItem
	}{
		{"Put", env.put},
		{"Update", env.update},
		{"Delete", env.del},
		{"ConditionCheck", env.check},
	}
	contenders := []struct {
		name string
		run  func(ctx context.Context, e env) error
		// want is the cancellation reasons of a TransactionCanceledException,
		// or "TransactionConflictException", or nil for success.
		want []string
	}{
		{"TransactWriteItems", func(ctx context.Context, e env) error {
			return e.transact(ctx, e.put("Z"), e.update("X"))
		}, []string{"None", "TransactionConflict"}},
		{"TransactWriteItemsConditionCheck", func(ctx context.Context, e env) error {
			return e.transact(ctx, e.check("X"), e.put("Z"))
		}, []string{"TransactionConflict", "None"}},
		{"PutItem", func(ctx context.Context, e env) error {
			_, err := e.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: item("X", 100)})
			return err
		}, []string{"TransactionConflictException"}},
		{"UpdateItem", func(ctx context.Context, e env) error {
			u := e.update("X").Update
			_, err := e.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression, ExpressionAttributeValues: u.ExpressionAttributeValues})
			return err
		}, []string{"TransactionConflictException"}},
		{"DeleteItem", func(ctx context.Context, e env) error {
			_, err := e.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(e.table), Key: key("X")})
			return err
		}, []string{"TransactionConflictException"}},
		{"TransactGetItems", func(ctx context.Context, e env) error {
			_, err := e.client.TransactGetItems(ctx, &dynamodb.TransactGetItemsInput{TransactItems: []types.TransactGetItem{
				{Get: &types.Get{TableName: aws.String(e.table), Key: key("Z")}},
				{Get: &types.Get{TableName: aws.String(e.table), Key: key("X")}},
			}})
			return err
		}, []string{"None", "TransactionConflict"}},
		{"GetItem", func(ctx context.Context, e env) error {
			_, err := e.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(e.table), Key: key("X"), ConsistentRead: aws.Bool(true)})
			return err
		}, nil},
		{"TransactWriteItemsDisjoint", func(ctx context.Context, e env) error {
			return e.transact(ctx, e.put("Z"), e.update("Y"))
		}, nil},
	}
	for _, h := range holders {
		for _, c := range contenders {
			t.Run(h.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				e := MustEnv(t, ddbsim.Options{Conflicts: true, TransactionLatency: holdLatency})
				e.mustPut(t, item("X", 100))
				held := make(chan error, 1)
				go func() { held <- e.transact(ctx, e.put("W"), h.action(e, "X")) }()
				waitHeld(t, e.proxy, 2)

				err := c.run(ctx, e)
				if err := <-held; err != nil {
					t.Fatalf("holding transaction: %v", err)
				}
				u := e.proxy.Usage()
				op := u.Operations[opName(c.name)]
				// The holder is a TransactWriteItems of two small items: 4 WRU.
				var holder int64
				if opName(c.name) == "TransactWriteItems" {
					holder = 1
				}
				if op.Requests != 1+holder {
					t.Errorf("%s requests = %d, want %d (the SDK retried)", c.name, op.Requests, 1+holder)
				}
				switch {
				case c.want == nil:
					if err != nil {
						t.Fatalf("err = %v, want success", err)
					}
					if n := u.Conflicts(); n != 0 {
						t.Errorf("conflicts = %d, want 0", n)
					}
					return
				case c.want[0] == "TransactionConflictException":
					if !isTransactionConflict(err) {
						t.Fatalf("err = %v, want TransactionConflictException", err)
					}
				default:
					if got := reasonCodes(err); !slices.Equal(got, c.want) {
						t.Fatalf("cancellation reasons = %v (%v), want %v", got, err, c.want)
					}
				}
				if op.Conflicts != 1 || op.WRU != 4*holder {
					t.Errorf("%s usage = %+v, want 1 conflict and nothing charged", c.name, op)
				}
				if n := u.Partitions[ddbsim.PartitionKey{Table: e.table, Value: "X"}].Conflicts; n != 1 {
					t.Errorf("conflicts on partition X = %d, want 1", n)
				}
				if e.exists(t, "Z") {
					t.Error("the cancelled transaction wrote Z")
				}
			})
		}
	}
}

func opName(contender string) string {
	for _, op := range []string{"TransactWriteItems", "TransactGetItems", "PutItem", "UpdateItem", "DeleteItem", "GetItem"} {
		if len(contender) >= len(op) && contender[:len(op)] == op {
			return op
		}
	}
	return contender
}

// TestTransactionConflictNamesEveryHeldItem: each held item of a cancelled
// transaction gets its own TransactionConflict reason, at its index.
func TestTransactionConflictNamesEveryHeldItem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := MustEnv(t, ddbsim.Options{Conflicts: true, TransactionLatency: holdLatency})
	held := make(chan error, 1)
	go func() { held <- e.transact(ctx, e.put("W"), e.put("X")) }()
	waitHeld(t, e.proxy, 2)
	err := e.transact(ctx, e.update("X"), e.put("Z"), e.update("W"))
	if got, want := reasonCodes(err), []string{"TransactionConflict", "None", "TransactionConflict"}; !slices.Equal(got, want) {
		t.Fatalf("reasons = %v (%v), want %v", got, err, want)
	}
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	// Released: the same transaction now goes through.
	if err := e.transact(ctx, e.update("X"), e.put("Z"), e.update("W")); err != nil {
		t.Fatalf("after release: %v", err)
	}
}

// TestTwoConcurrentTransactionsOnOneItem starts two transactions on a
// shared item at once: exactly one commits, the other is cancelled with
// TransactionConflict at the shared item's index.
func TestTwoConcurrentTransactionsOnOneItem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := MustEnv(t, ddbsim.Options{Conflicts: true, TransactionLatency: holdLatency})
	start := make(chan struct{})
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			<-start
			errs[i] = e.transact(ctx, e.put(fmt.Sprintf("own%d", i)), e.update("shared"))
		})
	}
	close(start)
	wg.Wait()
	var ok, cancelled int
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case slices.Equal(reasonCodes(err), []string{"None", "TransactionConflict"}):
			cancelled++
		default:
			t.Errorf("unexpected error %v", err)
		}
	}
	if ok != 1 || cancelled != 1 {
		t.Fatalf("%d committed, %d cancelled; want 1 and 1", ok, cancelled)
	}
	u := e.proxy.Usage()
	if n := u.Partitions[ddbsim.PartitionKey{Table: e.table, Value: "shared"}].Conflicts; n != 1 {
		t.Errorf("conflicts on the shared partition = %d, want 1", n)
	}
}

// TestDisjointTransactionsNeverConflict runs many concurrent transactions
// on distinct items.
func TestDisjointTransactionsNeverConflict(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := MustEnv(t, ddbsim.Options{Conflicts: true, TransactionLatency: 5 * time.Millisecond, WriteLatency: 2 * time.Millisecond})
	const workers, each = 16, 10
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("%02d-%02d", w, i)
				errs <- e.transact(ctx, e.put("a"+id), e.put("b"+id), e.update("c"+id))
				_, err := e.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: item("d"+id, 100)})
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	u := e.proxy.Usage()
	if n := u.Conflicts(); n != 0 {
		t.Errorf("conflicts = %d, want 0", n)
	}
	tx := u.Operations["TransactWriteItems"]
	if tx.Writes != 3*workers*each || tx.WRU != 2*3*workers*each {
		t.Errorf("TransactWriteItems usage = %+v, want %d writes, %d WRU", tx, 3*workers*each, 2*3*workers*each)
	}
}

// TestConflictsOff: the pass-through rejects nothing and applies the same
// latencies.
func TestConflictsOff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const latency = 200 * time.Millisecond
	e := MustEnv(t, ddbsim.Options{TransactionLatency: latency, WriteLatency: latency})
	start := make(chan struct{})
	errs := make([]error, 3)
	took := make([]time.Duration, 3)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			<-start
			t0 := time.Now()
			if i == 2 {
				_, errs[i] = e.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: item("shared", 100)})
			} else {
				errs[i] = e.transact(ctx, e.put(fmt.Sprintf("own%d", i)), e.update("shared"))
			}
			took[i] = time.Since(t0)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("request %d: %v", i, err)
		}
		if took[i] < latency {
			t.Errorf("request %d took %v, want at least the latency %v", i, took[i], latency)
		}
	}
	if n := e.proxy.Usage().Conflicts(); n != 0 {
		t.Errorf("conflicts = %d, want 0", n)
	}
}

// TestTransactGetConflictsWithSingleWrite: a TransactGetItems of an item a
// PutItem is writing is cancelled ("an item within a TransactGetItems
// request is part of an ongoing ... PutItem ... request").
func TestTransactGetConflictsWithSingleWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := MustEnv(t, ddbsim.Options{Conflicts: true, WriteLatency: holdLatency})
	// A loaded machine may take the whole hold to see the put arrive; an
	// attempt whose read came after the put had ended proves nothing, and
	// is made again on another item.
	for attempt := 1; ; attempt++ {
		k := fmt.Sprintf("X%d", attempt)
		done := make(chan error, 1)
		go func() {
			_, err := e.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: item(k, 100)})
			done <- err
		}()
		// The put holds the item from before it is forwarded until its
		// latency passed.
		deadline := time.Now().Add(10 * time.Second)
		for !e.exists(t, k) {
			if time.Now().After(deadline) {
				t.Fatal("the put never arrived")
			}
			time.Sleep(time.Millisecond)
		}
		_, err := e.client.TransactGetItems(ctx, &dynamodb.TransactGetItemsInput{TransactItems: []types.TransactGetItem{
			{Get: &types.Get{TableName: aws.String(e.table), Key: key(k)}},
		}})
		got := reasonCodes(err)
		ended := len(done) > 0
		if perr := <-done; perr != nil {
			t.Fatal(perr)
		}
		if slices.Equal(got, []string{"TransactionConflict"}) {
			break
		}
		if !ended || attempt == 5 {
			t.Fatalf("reasons = %v (%v), want [TransactionConflict]", got, err)
		}
	}
	// A single-item write is not a transaction: another put goes through.
	if _, err := e.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: item("X", 100)}); err != nil {
		t.Fatal(err)
	}
}
