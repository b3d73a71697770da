/** What a run exports as (`exportRun`), in a module of its own for the surfaces that only validate the choice. */
export const EXPORT_FORMATS = ['csv', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
