{{/* Names: "<release>-podprof" unless the release name already contains "podprof". */}}
{{- define "podprof.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 54 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 54 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 54 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "podprof.injectorName" -}}
{{- printf "%s-injector" (include "podprof.fullname" .) -}}
{{- end -}}

{{- define "podprof.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "podprof.injectorName" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "podprof.tlsSecretName" -}}
{{- if eq .Values.tls.mode "secret" -}}
{{- required "tls.secret.name is required with tls.mode=secret" .Values.tls.secret.name -}}
{{- else -}}
{{- printf "%s-tls" (include "podprof.injectorName" .) -}}
{{- end -}}
{{- end -}}

{{- define "podprof.labels" -}}
app.kubernetes.io/name: {{ default .Chart.Name .Values.nameOverride }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "podprof.selectorLabels" -}}
app.kubernetes.io/name: {{ default .Chart.Name .Values.nameOverride }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: injector
{{- end -}}

{{/* repository:tag or repository@digest. */}}
{{- define "podprof.image" -}}
{{- $img := index . 0 -}}
{{- $ctx := index . 1 -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $img.repository $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $img.repository (default $ctx.Chart.AppVersion $img.tag) -}}
{{- end -}}
{{- end -}}

{{/* The webhook's DNS names (the Service), in the order the certificates list them. */}}
{{- define "podprof.dnsNames" -}}
{{- $svc := include "podprof.injectorName" . -}}
{{- $ns := .Release.Namespace -}}
{{- list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) | toJson -}}
{{- end -}}

{{- define "podprof.sidecarMode" -}}
{{- if eq .Values.sampler.sidecarMode "auto" -}}
{{- if semverCompare ">=1.29.0-0" .Capabilities.KubeVersion.Version -}}native{{- else -}}container{{- end -}}
{{- else -}}
{{- .Values.sampler.sidecarMode -}}
{{- end -}}
{{- end -}}

{{- define "podprof.useMatchConditions" -}}
{{- $mc := .Values.webhook.matchConditions | toString -}}
{{- if eq $mc "auto" -}}
{{- if semverCompare ">=1.28.0-0" .Capabilities.KubeVersion.Version -}}true{{- end -}}
{{- else if eq $mc "true" -}}true{{- end -}}
{{- end -}}

{{/* defaultEnv and sampler.settings as one NAME -> string mapping (`--set` makes numbers). */}}
{{- define "podprof.defaultEnv" -}}
{{- $env := dict -}}
{{- range $k, $v := .Values.sampler.settings }}{{ $_ := set $env $k (toString $v) }}{{ end -}}
{{- range $k, $v := .Values.defaultEnv }}{{ $_ := set $env $k (toString $v) }}{{ end -}}
{{- toJson $env -}}
{{- end -}}

{{/* The injector's config file (keys of docs/config-injector.md with '-' as '_'). */}}
{{- define "podprof.injectorConfig" -}}
{{- $s := .Values.sampler -}}
{{- $cfg := dict
  "log_level" .Values.injector.logLevel
  "listen" (printf "0.0.0.0:%d" (int .Values.injector.containerPort))
  "tls_cert" "/etc/podprof/tls/tls.crt"
  "tls_key" "/etc/podprof/tls/tls.key"
  "sampler_image" (include "podprof.image" (list $s.image .))
  "image_pull_policy" $s.image.pullPolicy
  "init_cpu" ($s.initResources.cpu | toString)
  "init_memory" ($s.initResources.memory | toString)
  "exporter_cpu" ($s.exporterResources.cpu | toString)
  "exporter_memory" ($s.exporterResources.memory | toString)
  "library_volume_size" ($s.libraryVolumeSize | toString)
  "spool_volume_size" ($s.spoolVolumeSize | toString)
  "run_as_user" $s.runAsUser
  "agent_url" .Values.agent.url
  "sidecar_mode" (include "podprof.sidecarMode" .)
  "default_env" (include "podprof.defaultEnv" . | fromJson)
  "pod_labels_as_tags" .Values.podLabelsAsTags
  "agentless" .Values.agent.agentless.enabled
  "site" .Values.agent.agentless.site
  "api_key_secret" .Values.agent.agentless.apiKeySecret.name
  "api_key_secret_key" .Values.agent.agentless.apiKeySecret.key
-}}
{{- if $s.skipContainers -}}
{{- $_ := set $cfg "skip_containers" $s.skipContainers -}}
{{- end -}}
{{- if and .Values.agent.agentless.enabled (not .Values.agent.agentless.apiKeySecret.name) -}}
{{- fail "agent.agentless.apiKeySecret.name is required with agent.agentless.enabled=true" -}}
{{- end -}}
{{- toPrettyJson (mergeOverwrite $cfg .Values.injector.extraConfig) -}}
{{- end -}}
