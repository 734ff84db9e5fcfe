// rclone-style filter globs as regular expressions, so providers that copy object by object (S3,
// Azure) apply the same exclusion list as the rclone Jobs: `*` within a segment, `**` across
// segments, `?`, `[...]`, `{a,b}`; a pattern without a leading `/` matches at any segment boundary,
// one with it only from the root; a pattern ending in `/**` (or matching a whole path) excludes it.
export function globToRegExp(pattern: string): RegExp {
  const anchored = pattern.startsWith('/');
  let body = '';
  let i = anchored ? 1 : 0;
  let inBraces = false;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') { body += '.*'; i += 2; continue; }
      body += '[^/]*';
    } else if (c === '?') body += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i);
      if (end < 0) { body += '\\['; } else { body += `[${pattern.slice(i + 1, end).replace(/\\/g, '\\\\')}]`; i = end; }
    } else if (c === '{') { body += '(?:'; inBraces = true; }
    else if (c === '}' && inBraces) { body += ')'; inBraces = false; }
    else if (c === ',' && inBraces) body += '|';
    else body += c.replace(/[.+^$()|\\]/g, '\\$&');
    i += 1;
  }
  return new RegExp(`${anchored ? '^' : '(?:^|/)'}${body}$`);
}

export function excluder(patterns: readonly string[]): (relativeKey: string) => boolean {
  const res = patterns.map(globToRegExp);
  return (key) => res.some((re) => re.test(key));
}
