package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute names of the table's keys and TTL. Every adapter and the CDK stack
// take them from here so the table has exactly one definition.
const (
	AttrPK     = "pk"
	AttrSK     = "sk"
	AttrGSI1PK = "gsi1pk"
	AttrGSI1SK = "gsi1sk"
	AttrTTL    = "ttl"

	// IndexGSI1 is the generic listing index (experiments by status, a
	// referrer's referrals, ...).
	IndexGSI1 = "gsi1"

	// IndexLeaders orders each experiment's codes by a total: sparse (only
	// leader entries carry lbpk), its numeric sort key the very attribute
	// the aggregator ADDs to, so that no write computes a rank.
	IndexLeaders    = "leaders"
	AttrLeaderPK    = "lbpk"
	AttrLeaderScore = "lbscore"
)

// Index describes a global secondary index projecting all attributes:
// string keys, but a numeric sort key when NumericSortKey.
type Index struct {
	Name           string
	PartitionKey   string
	SortKey        string
	NumericSortKey bool
}

// SortKeyType is the DynamoDB type of the index's sort key.
func (ix Index) SortKeyType() types.ScalarAttributeType {
	if ix.NumericSortKey {
		return types.ScalarAttributeTypeN
	}
	return types.ScalarAttributeTypeS
}

// TableSpec is the one definition of the refx table: string keys pk/sk, the
// generic GSIs, the TTL attribute, NEW_AND_OLD_IMAGES streams and on-demand
// billing. CreateTableInput turns it into an SDK request; the CDK stack reads
// the same fields.
type TableSpec struct {
	PartitionKey   string
	SortKey        string
	Indexes        []Index
	TTLAttribute   string
	StreamViewType types.StreamViewType
	BillingMode    types.BillingMode
}

// Table is the refx table design.
var Table = TableSpec{
	PartitionKey: AttrPK,
	SortKey:      AttrSK,
	Indexes: []Index{
		{Name: IndexGSI1, PartitionKey: AttrGSI1PK, SortKey: AttrGSI1SK},
		{Name: IndexLeaders, PartitionKey: AttrLeaderPK, SortKey: AttrLeaderScore, NumericSortKey: true},
	},
	TTLAttribute:   AttrTTL,
	StreamViewType: types.StreamViewTypeNewAndOldImages,
	BillingMode:    types.BillingModePayPerRequest,
}

// CreateTableInput is the CreateTable request for a table named name.
func (s TableSpec) CreateTableInput(name string) *dynamodb.CreateTableInput {
	attrs := []types.AttributeDefinition{
		{AttributeName: aws.String(s.PartitionKey), AttributeType: types.ScalarAttributeTypeS},
		{AttributeName: aws.String(s.SortKey), AttributeType: types.ScalarAttributeTypeS},
	}
	var gsis []types.GlobalSecondaryIndex
	for _, ix := range s.Indexes {
		attrs = append(attrs,
			types.AttributeDefinition{AttributeName: aws.String(ix.PartitionKey), AttributeType: types.ScalarAttributeTypeS},
			types.AttributeDefinition{AttributeName: aws.String(ix.SortKey), AttributeType: ix.SortKeyType()})
		gsis = append(gsis, types.GlobalSecondaryIndex{
			IndexName:  aws.String(ix.Name),
			KeySchema:  keySchema(ix.PartitionKey, ix.SortKey),
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		})
	}
	return &dynamodb.CreateTableInput{
		TableName:              aws.String(name),
		AttributeDefinitions:   attrs,
		KeySchema:              keySchema(s.PartitionKey, s.SortKey),
		GlobalSecondaryIndexes: gsis,
		BillingMode:            s.BillingMode,
		StreamSpecification:    &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: s.StreamViewType},
	}
}

func keySchema(pk, sk string) []types.KeySchemaElement {
	return []types.KeySchemaElement{
		{AttributeName: aws.String(pk), KeyType: types.KeyTypeHash},
		{AttributeName: aws.String(sk), KeyType: types.KeyTypeRange},
	}
}

// EnsureTable creates the table named name from the spec unless it exists,
// waits until it is active and turns TTL on. It is what the local bootstrap
// and the tests call; in AWS the CDK stack creates the table.
func (s TableSpec) EnsureTable(ctx context.Context, client *dynamodb.Client, name string) error {
	_, err := client.CreateTable(ctx, s.CreateTableInput(name))
	var inUse *types.ResourceInUseException
	switch {
	case errors.As(err, &inUse):
		// Created before: a restart of the local stack, nothing to do but wait.
	case err != nil:
		return fmt.Errorf("dynamo.EnsureTable: create %s: %w", name, err)
	}
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = time.Second
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, time.Minute); err != nil {
		return fmt.Errorf("dynamo.EnsureTable: wait for %s: %w", name, err)
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(s.TTLAttribute), Enabled: aws.Bool(true)},
	})
	if err != nil && !strings.Contains(err.Error(), "TimeToLive is already enabled") {
		return fmt.Errorf("dynamo.EnsureTable: enable TTL on %s: %w", name, err)
	}
	return nil
}
