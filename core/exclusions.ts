// The ONE list of Liferay generated files (docs/liferay-exclusions.md explains each entry). Liferay
// keeps them in the system repository (repositoryId 0) of each company:
//   {companyId}/0/document_preview/...    DLPreviewableProcessor.PREVIEW_PATH (PDF/office/video/audio previews and conversions)
//   {companyId}/0/document_thumbnail/...  DLPreviewableProcessor.THUMBNAIL_PATH
//   {companyId}/0/adaptive/...            Adaptive Media image renditions
// Patterns are rclone globs, unanchored, so they match whether the source prefix is the bucket root
// or document_library/.
export const LIFERAY_GENERATED_PATTERNS: readonly string[] = [
  '0/document_preview/**',
  '0/document_thumbnail/**',
  '0/adaptive/**',
];

export function excludePatterns(excludeGenerated: boolean | undefined, extra: readonly string[] | undefined): string[] {
  return [...(excludeGenerated === false ? [] : LIFERAY_GENERATED_PATTERNS), ...(extra ?? [])];
}
