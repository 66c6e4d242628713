// Command mobileone trains, evaluates, reparameterizes and runs MobileOne
// image classifiers with mmpretrain's configs and checkpoints.
package main

import (
	"os"

	"github.com/mobileone-go/mobileone/pkg/cmd/root"
)

func main() { os.Exit(root.Main()) }
