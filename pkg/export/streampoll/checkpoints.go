package streampoll

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// FileCheckpoints keeps checkpoints in one JSON file, rewritten atomically
// (temporary file, then rename) on every save.
type FileCheckpoints struct {
	path string
	mu   sync.Mutex
	m    map[string]string
}

var _ Checkpoints = (*FileCheckpoints)(nil)

// OpenFileCheckpoints reads the checkpoints in path, a missing file being
// none.
func OpenFileCheckpoints(path string) (*FileCheckpoints, error) {
	c := &FileCheckpoints{path: path, m: map[string]string{}}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return c, nil
	case err != nil:
		return nil, fmt.Errorf("streampoll.OpenFileCheckpoints: %w", err)
	}
	if err := json.Unmarshal(b, &c.m); err != nil {
		return nil, fmt.Errorf("streampoll.OpenFileCheckpoints: %s: %w", path, err)
	}
	return c, nil
}

// Load returns the shard's last handled sequence number, or "".
func (c *FileCheckpoints) Load(shard string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[shard], nil
}

// Save records the shard's last handled sequence number.
func (c *FileCheckpoints) Save(shard, sequence string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[shard] = sequence
	b, err := json.MarshalIndent(c.m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o755); err != nil {
		return err
	}
	tmp := c.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, c.path)
}
