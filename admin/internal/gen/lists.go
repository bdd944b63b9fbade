package main

// The curated code lists below are facts transcribed from the sources named
// in each list's comment; the generator writes them to admin/data so that the
// package only ever reads one kind of input (embedded CSV).

// codeRow is one entry of a code list: code, Vietnamese name, English name.
type codeRow struct{ code, name, nameEn string }

// ethnicities is the list of the 54 ethnic groups of Vietnam with the
// statistics office's codes, in the order of Decision 121-TCTK/PPCĐ of
// 2 March 1979 ("Danh mục các thành phần dân tộc Việt Nam"), still used by
// the statistics office and the census. Names use today's common spelling.
var ethnicities = []codeRow{
	{"01", "Kinh", "Kinh"},
	{"02", "Tày", "Tay"},
	{"03", "Thái", "Thai"},
	{"04", "Hoa", "Hoa"},
	{"05", "Khmer", "Khmer"},
	{"06", "Mường", "Muong"},
	{"07", "Nùng", "Nung"},
	{"08", "H'Mông", "Hmong"},
	{"09", "Dao", "Dao"},
	{"10", "Gia Rai", "Gia Rai"},
	{"11", "Ngái", "Ngai"},
	{"12", "Ê Đê", "E De"},
	{"13", "Ba Na", "Ba Na"},
	{"14", "Xơ Đăng", "Xo Dang"},
	{"15", "Sán Chay", "San Chay"},
	{"16", "Cơ Ho", "Co Ho"},
	{"17", "Chăm", "Cham"},
	{"18", "Sán Dìu", "San Diu"},
	{"19", "Hrê", "Hre"},
	{"20", "Mnông", "Mnong"},
	{"21", "Ra Glai", "Ra Glai"},
	{"22", "Xtiêng", "Xtieng"},
	{"23", "Bru-Vân Kiều", "Bru-Van Kieu"},
	{"24", "Thổ", "Tho"},
	{"25", "Giáy", "Giay"},
	{"26", "Cơ Tu", "Co Tu"},
	{"27", "Gié Triêng", "Gie Trieng"},
	{"28", "Mạ", "Ma"},
	{"29", "Khơ Mú", "Kho Mu"},
	{"30", "Co", "Co"},
	{"31", "Tà Ôi", "Ta Oi"},
	{"32", "Chơ Ro", "Cho Ro"},
	{"33", "Kháng", "Khang"},
	{"34", "Xinh Mun", "Xinh Mun"},
	{"35", "Hà Nhì", "Ha Nhi"},
	{"36", "Chu Ru", "Chu Ru"},
	{"37", "Lào", "Lao"},
	{"38", "La Chí", "La Chi"},
	{"39", "La Ha", "La Ha"},
	{"40", "Phù Lá", "Phu La"},
	{"41", "La Hủ", "La Hu"},
	{"42", "Lự", "Lu"},
	{"43", "Lô Lô", "Lo Lo"},
	{"44", "Chứt", "Chut"},
	{"45", "Mảng", "Mang"},
	{"46", "Pà Thẻn", "Pa Then"},
	{"47", "Cơ Lao", "Co Lao"},
	{"48", "Cống", "Cong"},
	{"49", "Bố Y", "Bo Y"},
	{"50", "Si La", "Si La"},
	{"51", "Pu Péo", "Pu Peo"},
	{"52", "Brâu", "Brau"},
	{"53", "Ơ Đu", "O Du"},
	{"54", "Rơ Măm", "Ro Mam"},
}

// religions is "none" followed by the 16 religions recognised by the state
// (Government Committee for Religious Affairs, as reported from 2022-2023:
// 16 religions, the last recognised being the Church of Jesus Christ of
// Latter-day Saints in 2022). The codes are this project's own: no official
// numeric code list for the population database was available to verify.
var religions = []codeRow{
	{"00", "Không", "None"},
	{"01", "Phật giáo", "Buddhism"},
	{"02", "Công giáo", "Catholicism"},
	{"03", "Tin lành", "Protestantism"},
	{"04", "Cao Đài", "Cao Dai"},
	{"05", "Phật giáo Hòa Hảo", "Hoa Hao Buddhism"},
	{"06", "Hồi giáo", "Islam"},
	{"07", "Bahá'í", "Baha'i Faith"},
	{"08", "Tịnh độ Cư sĩ Phật hội Việt Nam", "Pure Land Buddhist Home Practice Association of Vietnam"},
	{"09", "Cơ đốc Phục lâm", "Seventh-day Adventist Church"},
	{"10", "Phật giáo Tứ Ân Hiếu Nghĩa", "Tu An Hieu Nghia Buddhism"},
	{"11", "Minh Sư Đạo", "Minh Su Dao"},
	{"12", "Minh Lý Đạo – Tam Tông Miếu", "Minh Ly Dao - Tam Tong Mieu"},
	{"13", "Giáo hội Phật đường Nam tông Minh Sư đạo", "Southern Minh Su Dao Buddhist Church"},
	{"14", "Bửu Sơn Kỳ Hương", "Buu Son Ky Huong"},
	{"15", "Bà-la-môn giáo", "Brahmanism"},
	{"16", "Mặc môn (Giáo hội Các Thánh hữu Ngày sau của Chúa Giê-su Ky-tô)", "The Church of Jesus Christ of Latter-day Saints"},
}

// bloodTypes is the ABO group with the RhD factor. An unknown blood type is
// recorded as absence, not as a code.
var bloodTypes = []codeRow{
	{"A+", "A Rh+", "A RhD positive"},
	{"A-", "A Rh-", "A RhD negative"},
	{"B+", "B Rh+", "B RhD positive"},
	{"B-", "B Rh-", "B RhD negative"},
	{"AB+", "AB Rh+", "AB RhD positive"},
	{"AB-", "AB Rh-", "AB RhD negative"},
	{"O+", "O Rh+", "O RhD positive"},
	{"O-", "O Rh-", "O RhD negative"},
}

// population2019 is each old (63-province) province's resident population
// at the 1 April 2019 Population and Housing Census (statistics office,
// "Kết quả toàn bộ Tổng điều tra dân số và nhà ở năm 2019"), in persons as
// widely republished. It only weights the synthetic population generator.
var population2019 = map[string]int{
	"01": 8053663, "02": 854679, "04": 530341, "06": 313905, "08": 784811,
	"10": 730420, "11": 598856, "12": 460196, "14": 1248415, "15": 821030,
	"17": 854131, "19": 1286751, "20": 781655, "22": 1320324, "24": 1803950,
	"25": 1463726, "26": 1151154, "27": 1368840, "30": 1892254, "31": 2028514,
	"33": 1252731, "34": 1860447, "35": 852800, "36": 1780393, "37": 982487,
	"38": 3640128, "40": 3327791, "42": 1288866, "44": 895430, "45": 632375,
	"46": 1128620, "48": 1134310, "49": 1495812, "51": 1231697, "52": 1486918,
	"54": 872964, "56": 1231107, "58": 590467, "60": 1230808, "62": 540438,
	"64": 1513847, "66": 1869322, "67": 622168, "68": 1296906, "70": 994679,
	"72": 1169165, "74": 2426561, "75": 3097107, "77": 1148313, "79": 8993082,
	"80": 1688547, "82": 1764185, "83": 1288463, "84": 1009168, "86": 1022791,
	"87": 1599504, "89": 1908352, "91": 1723067, "92": 1235171, "93": 733017,
	"94": 1199653, "95": 907236, "96": 1194476,
}

// notISO31661 lists region codes that golang.org/x/text still reports as
// countries but that are not assigned ISO 3166-1 codes today: exceptional
// reservations (AC, CP, DG, EA, IC, TA) and withdrawn codes now in
// ISO 3166-3 (the rest). Kosovo (XK) is excluded separately as user-assigned.
var notISO31661 = map[string]bool{
	"AC": true, "CP": true, "DG": true, "EA": true, "IC": true, "TA": true,
	"AN": true, "BU": true, "CS": true, "CT": true, "DD": true, "DY": true,
	"FQ": true, "FX": true, "HV": true, "JT": true, "MI": true, "NH": true,
	"NQ": true, "NT": true, "PC": true, "PU": true, "PZ": true, "RH": true,
	"SU": true, "TP": true, "VD": true, "WK": true, "YD": true, "YU": true,
	"ZR": true,
}
