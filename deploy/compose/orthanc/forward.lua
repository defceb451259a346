-- Forward every instance Orthanc stores to the Harmonia node.
-- STOW-RS to the DICOMweb server "harmonia" (orthanc.json: DicomWeb.Servers) is the default;
-- set HARMONIA_FORWARD=cstore in Orthanc's environment to send by C-STORE to the modality
-- "harmonia" (orthanc.json: DicomModalities) instead.
-- Instances the node itself sent back (RequestOrigin "Lua") are not forwarded again.

local route = os.getenv("HARMONIA_FORWARD") or "stow"

function OnStoredInstance(instanceId, tags, metadata, origin)
  if origin ~= nil and origin["RequestOrigin"] == "Lua" then
    return
  end
  if route == "cstore" then
    RestApiPost("/modalities/harmonia/store", instanceId)
  else
    RestApiPost("/dicom-web/servers/harmonia/stow",
      '{"Resources": ["' .. instanceId .. '"], "Synchronous": true}')
  end
end
