package cancuoc

import (
	"fmt"
	"strconv"
	"strings"
)

// PIN is a personal identification number (số định danh cá nhân): 12 digits,
// PPP G YY RRRRRR — province (or country) of birth registration, century and
// sex, the last two digits of the birth year, and six random digits. A PIN
// value that exists was produced by ParsePIN or NewPIN and is well formed.
type PIN string

// isPINProvince reports the 63 province codes of the statistics office in force
// before 1 July 2025. PINs keep them after the 2025 merger (Decree 70/2024
// kept the format; existing numbers did not change), so a PIN is validated
// against the old list, not today's 34 provinces.
func isPINProvince(code string) bool {
	switch code {
	case "01", "02", "04", "06", "08", "10", "11", "12", "14", "15", "17", "19", "20", "22",
		"24", "25", "26", "27", "30", "31", "33", "34", "35", "36", "37", "38", "40", "42",
		"44", "45", "46", "48", "49", "51", "52", "54", "56", "58", "60", "62", "64", "66",
		"67", "68", "70", "72", "74", "75", "77", "79", "80", "82", "83", "84", "86", "87",
		"89", "91", "92", "93", "94", "95", "96":
		return true
	}
	return false
}

// Foreign-registration codes: births registered abroad carry a country code.
const (
	minCountryCode = 101
	maxCountryCode = 295
)

// ValidPINRegion reports whether a 3-digit code may open a PIN: "0" plus a
// province code of the 63-province era, or a country code 101–295.
func ValidPINRegion(code string) bool {
	if len(code) != 3 || !allDigits(code) {
		return false
	}
	if code[0] == '0' {
		return isPINProvince(code[1:])
	}
	n, _ := strconv.Atoi(code)
	return n >= minCountryCode && n <= maxCountryCode
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// ParsePIN validates the form of a PIN: twelve digits, a known province or
// country code, and a century digit that names a century (1900–2399). It
// cannot know the person: CheckPerson compares the PIN with a record. now is
// used to refuse birth years in the future.
func ParsePIN(s string, nowYear int) (PIN, error) {
	const op = "ParsePIN"
	s = strings.TrimSpace(s)
	if len(s) != 12 || !allDigits(s) {
		return "", InvalidField(op, "pin", "pin_format",
			"Số định danh cá nhân phải gồm đúng 12 chữ số (ví dụ 001203012345).",
			"A personal identification number has exactly 12 digits (for example 001203012345).")
	}
	if !ValidPINRegion(s[:3]) {
		return "", InvalidField(op, "pin", "pin_region_unknown",
			fmt.Sprintf("Ba chữ số đầu %q không phải mã tỉnh (001–096) hay mã quốc gia (101–295) hợp lệ.", s[:3]),
			fmt.Sprintf("The first three digits %q are not a known province code (001–096) or country code (101–295).", s[:3]))
	}
	p := PIN(s)
	if y := p.BirthYear(); y > nowYear {
		return "", InvalidField(op, "pin", "pin_year_future",
			fmt.Sprintf("Số định danh cho năm sinh %d, là năm trong tương lai.", y),
			fmt.Sprintf("The number encodes birth year %d, which is in the future.", y))
	}
	return p, nil
}

// String returns the 12 digits.
func (p PIN) String() string { return string(p) }

// Region is the 3-digit province or country code of birth registration.
func (p PIN) Region() string { return string(p[:3]) }

// ProvinceCode is the 2-digit statistics code of the province of birth
// registration, or "" for a birth registered abroad.
func (p PIN) ProvinceCode() string {
	if p[0] != '0' {
		return ""
	}
	return string(p[1:3])
}

// Sex decoded from the century/sex digit: even is male, odd is female.
func (p PIN) Sex() Sex {
	if (p[3]-'0')%2 == 1 {
		return Female
	}
	return Male
}

// BirthYear decoded from digits 4–6: year = (19 + G/2)·100 + YY.
func (p PIN) BirthYear() int {
	g := int(p[3] - '0')
	yy := int(p[4]-'0')*10 + int(p[5]-'0')
	return (19+g/2)*100 + yy
}

// Serial is the six random digits.
func (p PIN) Serial() string { return string(p[6:]) }

// CheckPerson verifies that the PIN agrees with a person's recorded sex and
// birth year (when known). It names the first disagreement.
func (p PIN) CheckPerson(sex Sex, birth Date) error {
	const op = "PIN.CheckPerson"
	if sex != SexUnknown && sex != p.Sex() {
		return InvalidField(op, "pin", "pin_sex_mismatch",
			"Chữ số thứ tư của số định danh (thế kỷ và giới tính) không khớp với giới tính đã ghi.",
			"The fourth digit of the number (century and sex) does not match the recorded sex.")
	}
	if birth.Year != 0 && birth.Year != p.BirthYear() {
		return InvalidField(op, "pin", "pin_year_mismatch",
			fmt.Sprintf("Số định danh mã hoá năm sinh %d nhưng ngày sinh ghi năm %d.", p.BirthYear(), birth.Year),
			fmt.Sprintf("The number encodes birth year %d but the date of birth says %d.", p.BirthYear(), birth.Year))
	}
	return nil
}

// NewPIN composes a PIN from a region code, sex, birth year and a serial in
// [0, 999999]. Callers draw the serial at random and retry on a collision.
func NewPIN(region string, sex Sex, year int, serial uint32) (PIN, error) {
	const op = "NewPIN"
	if !ValidPINRegion(region) {
		return "", InvalidField(op, "region", "pin_region_unknown",
			"Mã tỉnh hoặc quốc gia đăng ký khai sinh không hợp lệ.",
			"The province or country code of birth registration is not valid.")
	}
	if year < 1900 || year > 2399 {
		return "", InvalidField(op, "birth_date", "pin_year_range",
			"Năm sinh phải từ 1900 đến 2399.", "The birth year must be between 1900 and 2399.")
	}
	if sex != Male && sex != Female {
		return "", InvalidField(op, "sex", "pin_sex_required",
			"Cần giới tính (nam hoặc nữ) để cấp số định danh.", "A sex (male or female) is needed to issue a number.")
	}
	if serial > 999999 {
		return "", InvalidField(op, "serial", "pin_serial_range", "Số ngẫu nhiên vượt quá 6 chữ số.", "The serial exceeds six digits.")
	}
	g := (year/100 - 19) * 2
	if sex == Female {
		g++
	}
	return PIN(fmt.Sprintf("%s%d%02d%06d", region, g, year%100, serial)), nil
}
