package dynamo

// SetChunkItems lowers the counter items per aggregator transaction, so
// that tests split small batches into several chunks.
func (s *Store) SetChunkItems(n int) { s.chunkItems = n }

// SetLamedPageSize lowers the experiments per LamedExperiments page.
func (s *Store) SetLamedPageSize(n int) { s.lamedPageSize = n }
