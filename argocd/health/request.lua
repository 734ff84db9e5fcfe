-- Argo CD health of an LC2 BackupRequest or RestoreRequest: Healthy once Succeeded, Degraded with
-- the Ready condition's message once Failed, Progressing otherwise. This is what makes a
-- BackupRequest used as an Argo CD PreSync hook hold the sync until the backup has finished.
local health = { status = "Progressing", message = "Waiting for the LC2 backup controller" }
local status = obj.status
if status == nil or status.phase == nil then
  return health
end
local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  health.message = "The controller has not seen the latest spec yet"
  return health
end
local ready = nil
for _, condition in ipairs(status.conditions or {}) do
  if condition.type == "Ready" then ready = condition end
end
local phases = { Succeeded = "Healthy", Failed = "Degraded" }
health.status = phases[status.phase] or "Progressing"
if ready ~= nil and ready.message ~= nil and ready.message ~= "" then
  health.message = ready.message
else
  health.message = status.phase
end
return health
