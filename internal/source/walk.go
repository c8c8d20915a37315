package source

import (
	"context"
	"sync"
)

// WalkFolders reads a tree of folders with jobs goroutines. readDir reads
// one folder (emitting its files) and returns the subfolders to read next;
// an error from it stops the walk and is returned (sources turn unreadable
// folders into failure records themselves and return only errors that end
// the listing: sink errors, cancellation, rejected sign-in).
//
// Folders waiting to be read form a stack, so the walk goes deep first and
// the queue stays small on wide trees.
func WalkFolders(ctx context.Context, jobs int, root string, readDir func(ctx context.Context, dir string) ([]string, error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu      sync.Mutex
		cond    = sync.NewCond(&mu)
		queue   = []string{root}
		running = 0
		first   error
	)
	var wg sync.WaitGroup
	for range max(jobs, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				for len(queue) == 0 && running > 0 && first == nil {
					cond.Wait()
				}
				if len(queue) == 0 || first != nil {
					mu.Unlock()
					cond.Broadcast()
					return
				}
				dir := queue[len(queue)-1]
				queue = queue[:len(queue)-1]
				running++
				mu.Unlock()

				subdirs, err := readDir(ctx, dir)

				mu.Lock()
				running--
				if err != nil && first == nil {
					first = err
					cancel()
				}
				queue = append(queue, subdirs...)
				mu.Unlock()
				cond.Broadcast()
			}
		}()
	}
	wg.Wait()
	return first
}
