package stream

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Change is what a stream record did to its item.
type Change int

// The changes a stream record can carry.
const (
	Insert Change = iota + 1
	Modify
	// Remove is a delete by a request.
	Remove
	// Expire is a deletion by DynamoDB's TTL: never a business event.
	Expire
)

func (c Change) String() string {
	switch c {
	case Insert:
		return "INSERT"
	case Modify:
		return "MODIFY"
	case Remove:
		return "REMOVE"
	case Expire:
		return "EXPIRE"
	}
	return fmt.Sprintf("Change(%d)", int(c))
}

// TTL deletions in AWS carry this service identity.
const (
	ttlIdentityType      = "Service"
	ttlIdentityPrincipal = "dynamodb.amazonaws.com"
)

// ChangeOf classifies a stream record. DynamoDB marks TTL deletions as
// REMOVE by the service principal dynamodb.amazonaws.com; DynamoDB Local
// sends its TTL deletions under an event name outside INSERT, MODIFY and
// REMOVE and without a user identity, so a record with such a name that only
// has an old image is an expiry too. Any other unknown name is an error.
func ChangeOf(rec *events.DynamoDBEventRecord) (Change, error) {
	switch events.DynamoDBOperationType(rec.EventName) {
	case events.DynamoDBOperationTypeInsert:
		return Insert, nil
	case events.DynamoDBOperationTypeModify:
		return Modify, nil
	case events.DynamoDBOperationTypeRemove:
		if id := rec.UserIdentity; id != nil && id.Type == ttlIdentityType && id.PrincipalID == ttlIdentityPrincipal {
			return Expire, nil
		}
		return Remove, nil
	}
	if rec.UserIdentity == nil && len(rec.Change.NewImage) == 0 && len(rec.Change.OldImage) > 0 {
		return Expire, nil
	}
	return 0, fmt.Errorf("unknown stream event name %q", rec.EventName)
}

// Record is one stream record as the decoders see it: its change, its item
// images as DynamoDB attribute values, and where it sits in the stream.
type Record struct {
	Change Change
	// New and Old are the item after and before the change; either may be
	// nil.
	New, Old map[string]types.AttributeValue
	// SequenceNumber is the record's sequence number, zero-padded to 40
	// digits so that it sorts as a string.
	SequenceNumber string
	// StreamedAt is when the change was written to the stream (UTC).
	StreamedAt time.Time
}

// Image is the item the change produced, or the deleted item for removals.
func (r *Record) Image() map[string]types.AttributeValue {
	if r.New != nil {
		return r.New
	}
	return r.Old
}

// FromLambda converts a Lambda stream record for the decoders.
func FromLambda(rec *events.DynamoDBEventRecord) (*Record, error) {
	change, err := ChangeOf(rec)
	if err != nil {
		return nil, err
	}
	r := &Record{
		Change:         change,
		SequenceNumber: PadSequence(rec.Change.SequenceNumber),
		StreamedAt:     rec.Change.ApproximateCreationDateTime.UTC(),
	}
	if r.New, err = attributeMap(rec.Change.NewImage); err != nil {
		return nil, fmt.Errorf("new image: %w", err)
	}
	if r.Old, err = attributeMap(rec.Change.OldImage); err != nil {
		return nil, fmt.Errorf("old image: %w", err)
	}
	return r, nil
}

// sequenceWidth is the longest sequence number DynamoDB Streams issues.
const sequenceWidth = 40

// PadSequence zero-pads a decimal sequence number to sequenceWidth digits so
// that sequence numbers of any length sort as strings. Anything else is
// returned as is.
func PadSequence(s string) string {
	if s == "" || len(s) > sequenceWidth || strings.Trim(s, "0123456789") != "" {
		return s
	}
	return strings.Repeat("0", sequenceWidth-len(s)) + s
}

// attributeMap converts an image from Lambda's attribute values to the SDK's,
// so that attributevalue.UnmarshalMap decodes it exactly as the store
// encoded it. Numbers stay decimal strings: nothing goes through float64.
func attributeMap(m map[string]events.DynamoDBAttributeValue) (map[string]types.AttributeValue, error) {
	if m == nil {
		return nil, nil
	}
	out := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		av, err := attributeValue(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", k, err)
		}
		out[k] = av
	}
	return out, nil
}

func attributeValue(v events.DynamoDBAttributeValue) (types.AttributeValue, error) {
	switch v.DataType() {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: v.Binary()}, nil
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: v.StringSet()}, nil
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: v.NumberSet()}, nil
	case events.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: v.BinarySet()}, nil
	case events.DataTypeList:
		list := v.List()
		out := make([]types.AttributeValue, len(list))
		for i, e := range list {
			av, err := attributeValue(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = av
		}
		return &types.AttributeValueMemberL{Value: out}, nil
	case events.DataTypeMap:
		m, err := attributeMap(v.Map())
		if err != nil {
			return nil, err
		}
		if m == nil {
			m = map[string]types.AttributeValue{}
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	}
	return nil, errors.New("attribute value without a type")
}

// StringAttr returns the string attribute name of m, or "".
func StringAttr(m map[string]types.AttributeValue, name string) string {
	if s, ok := m[name].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}
