// Command reconbench prepares the inputs of bench/reconcile.sh: it writes a
// copy of a partner data set without its PIN column's values, so the same
// records measure the no-PIN mode.
//
//	reconbench strip-pins IN.csv OUT.csv
package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
)

func main() {
	if len(os.Args) != 4 || os.Args[1] != "strip-pins" {
		fmt.Fprintln(os.Stderr, "usage: reconbench strip-pins IN.csv OUT.csv")
		os.Exit(2)
	}
	if err := stripPINs(os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "reconbench:", err)
		os.Exit(1)
	}
}

func stripPINs(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	g, err := os.Create(out)
	if err != nil {
		return err
	}
	defer g.Close()
	r, w := csv.NewReader(f), csv.NewWriter(g)
	head, err := r.Read()
	if err != nil {
		return err
	}
	col := -1
	for i, h := range head {
		if h == "pin" {
			col = i
		}
	}
	if col < 0 {
		return errors.New("no pin column")
	}
	if err := w.Write(head); err != nil {
		return err
	}
	for {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		row[col] = ""
		if len(row) > 6 {
			row[6] = "" // the card number would identify the person too
		}
		if err := w.Write(row); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}
