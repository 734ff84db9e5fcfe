// restore list | describe.
import type { RestoreRequest } from '../core/crd.ts';
import { bool } from './args.ts';
import type { Ctx } from './context.ts';
import { describeRestore, restoreTable } from './views.ts';
import { describeOne, listVerb } from './listing.ts';

export const restoreList = (ctx: Ctx) => listVerb<RestoreRequest>(ctx, 'restorerequests', 'restores', (items, wide, all) => restoreTable(items, ctx.now(), wide, all));

export const restoreDescribe = (ctx: Ctx) => describeOne<RestoreRequest>(ctx, 'restorerequests', 'restore', (r) => describeRestore(r, ctx.now(), bool(ctx.values, 'details')));
