package ddbsim

import (
	"maps"
	"sync"
)

// PartitionKey names one partition-key value of one table: the unit real
// DynamoDB limits to about 1,000 write units per second.
type PartitionKey struct {
	Table string
	Value string // the partition key's value (the string of an S or N, base64 of a B)
}

// PartitionUsage is what the writes to one partition key cost.
type PartitionUsage struct {
	WRU       int64 // write units charged
	Writes    int64 // item writes charged (ConditionChecks included)
	Conflicts int64 // items of this partition named in an emulated conflict
}

// OperationUsage is the total of one operation (PutItem, TransactWriteItems, ...).
type OperationUsage struct {
	Requests  int64 // requests received, conflicting or not
	WRU       int64 // write units charged
	Writes    int64 // item writes charged
	Conflicts int64 // requests rejected with an emulated conflict
}

// Usage is a snapshot of a Proxy's accounting since it started or was last
// Reset.
type Usage struct {
	Partitions map[PartitionKey]PartitionUsage
	Operations map[string]OperationUsage
}

// WRU returns the write units charged in total.
func (u Usage) WRU() int64 {
	var n int64
	for _, o := range u.Operations {
		n += o.WRU
	}
	return n
}

// Conflicts returns the number of requests rejected with an emulated
// conflict.
func (u Usage) Conflicts() int64 {
	var n int64
	for _, o := range u.Operations {
		n += o.Conflicts
	}
	return n
}

// Hottest returns the partition key charged the most write units (ties
// broken by name, so the answer is stable) and its usage. ok is false when
// nothing was charged.
func (u Usage) Hottest() (key PartitionKey, usage PartitionUsage, ok bool) {
	for k, p := range u.Partitions {
		if !ok || p.WRU > usage.WRU || p.WRU == usage.WRU && (k.Table+"\x00"+k.Value) < (key.Table+"\x00"+key.Value) {
			key, usage, ok = k, p, true
		}
	}
	return key, usage, ok
}

// accounting is the mutable state behind Usage.
type accounting struct {
	mu         sync.Mutex
	partitions map[PartitionKey]PartitionUsage
	operations map[string]OperationUsage
}

func (a *accounting) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.partitions = map[PartitionKey]PartitionUsage{}
	a.operations = map[string]OperationUsage{}
}

func (a *accounting) snapshot() Usage {
	a.mu.Lock()
	defer a.mu.Unlock()
	return Usage{Partitions: maps.Clone(a.partitions), Operations: maps.Clone(a.operations)}
}

func (a *accounting) request(op string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	o := a.operations[op]
	o.Requests++
	a.operations[op] = o
}

// charge is one item write's cost.
type charge struct {
	partition PartitionKey
	wru       int64
}

func (a *accounting) charge(op string, charges []charge) {
	a.mu.Lock()
	defer a.mu.Unlock()
	o := a.operations[op]
	for _, c := range charges {
		p := a.partitions[c.partition]
		p.WRU += c.wru
		p.Writes++
		a.partitions[c.partition] = p
		o.WRU += c.wru
		o.Writes++
	}
	a.operations[op] = o
}

func (a *accounting) conflict(op string, partitions []PartitionKey) {
	a.mu.Lock()
	defer a.mu.Unlock()
	o := a.operations[op]
	o.Conflicts++
	a.operations[op] = o
	for _, k := range partitions {
		p := a.partitions[k]
		p.Conflicts++
		a.partitions[k] = p
	}
}
