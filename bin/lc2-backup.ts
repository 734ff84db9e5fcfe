#!/usr/bin/env node
// lc2-backup: the backup CLI (cli/, docs/cli.md). Also installed as the kubectl plugin
// `kubectl lc2` (bin/kubectl-lc2); both run the same verbs.
import { main } from '../cli/main.ts';

main('lc2-backup');
