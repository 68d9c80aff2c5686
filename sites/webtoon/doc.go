// Package webtoon is the WEBTOON (www.webtoons.com) site handler:
// episode viewer pages and series episode lists.
//
// Markup relied on (as of the site's current layout):
//
//	viewer: <div id="_imageList" class="viewer_img _img_viewer_area">
//	          <img src=".../bg_transparency.png" data-url="https://webtoon-phinf.pstatic.net/..." class="_images">
//	        <div class="subj_info"><a class="subj">Series</a><h1 class="subj_episode">Episode title</h1></div>
//	        <span class="tx _btnOpenEpisodeList">#N</span>
//	        <meta property="com-linewebtoon:episode:author" content="A / B">
//	list:   <ul id="_listUl"><li class="_episodeItem" data-episode-no="N"><a href=".../viewer?title_no=T&episode_no=N">
//	          <span class="subj"><span>Episode title</span></span> ... <span class="tx">#N</span>
//	        <div class="paginate"><a href="/en/.../list?title_no=T&page=2">
//	        <h1 class="subj">Series</h1>, og:title, com-linewebtoon:webtoon:author
package webtoon
