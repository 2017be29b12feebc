package redisbridge

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// Every op passed to redisError is pre-created at zero (redisOps).
func TestRedisOpsListed(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	re := regexp.MustCompile(`redisError\("([a-z_]+)"\)`)
	seen := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			seen++
			if !slices.Contains(redisOps, m[1]) {
				t.Errorf("%s: redisError(%q) is not in redisOps", f, m[1])
			}
		}
	}
	if seen == 0 {
		t.Fatal("no redisError calls found")
	}
}
