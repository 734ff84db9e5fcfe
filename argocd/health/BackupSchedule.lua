-- Argo CD health of an LC2 BackupSchedule, mirroring CronJob: Suspended while spec.suspend,
-- Degraded while the schedule's Ready condition is False (e.g. its last backup failed),
-- Progressing while one of its backups runs, Healthy otherwise.
local health = { status = "Healthy", message = "" }
if obj.spec ~= nil and obj.spec.suspend == true then
  health.status = "Suspended"
  health.message = "Schedule is suspended"
  return health
end
local status = obj.status or {}
for _, condition in ipairs(status.conditions or {}) do
  if condition.type == "Ready" and condition.status == "False" then
    health.status = "Degraded"
    health.message = condition.message or condition.reason or "Not ready"
    return health
  end
end
if status.active ~= nil and #status.active > 0 then
  health.status = "Progressing"
  health.message = "Backup running: " .. status.active[1]
  return health
end
if status.lastSuccessfulBackup ~= nil then
  health.message = "Last successful backup: " .. status.lastSuccessfulBackup
end
return health
