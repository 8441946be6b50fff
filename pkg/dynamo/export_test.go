package dynamo

// SetChunkItems lowers the counter items per aggregator transaction, so
// that tests split small batches into several chunks.
func (s *Store) SetChunkItems(n int) { s.chunkItems = n }
