# make images: OCI image layouts of podprof-injector and podprof-sampler under build/images/,
# assembled by images/oci_image.py (no container engine). Load one with e.g.
# `skopeo copy oci:build/images/podprof-sampler:0.1.0 docker://REGISTRY/podprof-sampler:0.1.0`.

IMAGES_OUT := $(BUILD)/images
IMAGE_NAMES := podprof-sampler podprof-injector

.PHONY: images
images: $(addprefix $(IMAGES_OUT)/,$(addsuffix /index.json,$(IMAGE_NAMES)))

$(IMAGES_OUT)/podprof-sampler/index.json: images/podprof-sampler.json images/oci_image.py scripts/build_min_curl.sh $(BUILD)/bin/podprof $(BUILD)/lib/libpodprof.so
	python3 images/oci_image.py $< --build $(BUILD) --out $(dir $@)

$(IMAGES_OUT)/podprof-injector/index.json: images/podprof-injector.json images/oci_image.py $(BUILD)/bin/podprof-injector
	python3 images/oci_image.py $< --build $(BUILD) --out $(dir $@)
