// Package fsutil holds the file helpers more than one package needs.
package fsutil
