// Package testtool is how the tests find the tools they run. CI installs
// every one (tests/run); on a developer's machine without one the test
// is skipped, and with CI=true it fails, naming the tool, so that CI
// cannot pass by skipping.
package testtool

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Require returns the path of each tool, in order, or ends the test: a
// skip, or under CI=true a failure.
func Require(t testing.TB, tools ...string) []string {
	t.Helper()
	var paths, missing []string
	for _, tool := range tools {
		p, err := exec.LookPath(tool)
		if err != nil {
			missing = append(missing, tool)
		}
		paths = append(paths, p)
	}
	if len(missing) == 0 {
		return paths
	}
	msg := fmt.Sprintf("not installed: %s", strings.Join(missing, ", "))
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true, so this is a failure, not a skip)", msg)
	}
	t.Skip(msg)
	return nil
}
