// A Go net/http webhook doing the benchmark's pre-upload check natively:
// what an SFTPGo admin writes by hand for an HTTP hook, the anchor the
// benchmark measures `hookhost serve` against (docs/performance.md). It
// answers SFTPGo's fs action POST: 403 for a common Windows executable,
// 200 otherwise, decoding the body with encoding/json. It prints the
// address it listens on (a free loopback port), then serves.
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path"
	"strings"
)

var refused = map[string]bool{"exe": true, "bat": true, "cmd": true, "com": true, "msi": true, "scr": true}

type fsEvent struct {
	Action string `json:"action"`
	Path   string `json:"path"`
}

// refuse is the benchmark's check: the last extension of a name with a
// non-empty stem.
func refuse(p string) bool {
	name := path.Base(p)
	i := strings.LastIndexByte(name, '.')
	if i <= 0 {
		return false
	}
	return refused[strings.ToLower(name[i+1:])]
}

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	err = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var event fsEvent
		if err := json.NewDecoder(r.Body).Decode(&event); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if refuse(event.Path) {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
