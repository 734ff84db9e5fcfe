// kube-apiserver built from the Go module proxy for the test suite: `go install k8s.io/kubernetes`
// is impossible (its go.mod replaces the staging modules with local paths), so this tiny module
// requires k8s.io/kubernetes and points every staging module at its published v0.32.x version.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
