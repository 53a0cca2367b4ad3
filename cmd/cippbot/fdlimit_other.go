//go:build !unix

package main

// fileLimit is a cautious guess where there is no rlimit to read.
func fileLimit() int { return 2048 }
