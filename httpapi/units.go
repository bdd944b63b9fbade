package httpapi

import (
	"net/http"

	"github.com/cancuoc/cancuoc"
	"github.com/cancuoc/cancuoc/admin"
)

// Unit and code lists are public reference data: they need no API key.

func unitSet(w http.ResponseWriter, r *http.Request, log func(error)) *admin.Set {
	switch cancuoc.AdminEra(r.PathValue("era")) {
	case cancuoc.Era34:
		return admin.Current()
	case cancuoc.Era63:
		return admin.Old()
	}
	log(cancuoc.InvalidField("httpapi.units", "era", "era_unknown",
		"Bộ đơn vị phải là 34 (hiện hành) hoặc 63 (trước 1/7/2025).", "The unit set must be 34 (current) or 63 (before 1 July 2025)."))
	return nil
}

func (a *API) provinces(w http.ResponseWriter, r *http.Request) {
	set := unitSet(w, r, func(err error) { a.fail(w, r, err) })
	if set == nil {
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=86400")
	writeJSON(w, http.StatusOK, map[string]any{"set": set.Name(), "provinces": set.Provinces()})
}

func (a *API) communes(w http.ResponseWriter, r *http.Request) {
	set := unitSet(w, r, func(err error) { a.fail(w, r, err) })
	if set == nil {
		return
	}
	prov := r.PathValue("province")
	if _, ok := set.Province(prov); !ok {
		a.fail(w, r, cancuoc.E(cancuoc.NotFound, "httpapi.communes", "province_unknown",
			"Không có tỉnh với mã này trong bộ đơn vị đã chọn.", "No province has this code in the chosen unit set."))
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=86400")
	writeJSON(w, http.StatusOK, map[string]any{"set": set.Name(), "province": prov, "communes": set.Communes(prov)})
}

func (a *API) codes(w http.ResponseWriter, r *http.Request) {
	lists := map[string]func() []admin.Code{
		"ethnicities": admin.Ethnicities, "religions": admin.Religions,
		"nationalities": admin.Nationalities, "blood-types": admin.BloodTypes,
	}
	f, ok := lists[r.PathValue("list")]
	if !ok {
		a.fail(w, r, cancuoc.E(cancuoc.NotFound, "httpapi.codes", "code_list_unknown",
			"Danh mục phải là ethnicities, religions, nationalities hoặc blood-types.", "The list must be ethnicities, religions, nationalities or blood-types."))
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=86400")
	writeJSON(w, http.StatusOK, map[string]any{"list": r.PathValue("list"), "codes": f()})
}
